package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
)

func TestListLabelGroups(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/extcontact/listlabelgroups", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"offset":0,"size":20}`)
	}, readTestdata(t, "extcontact_listlabelgroups.json"))
	got, err := e.client.ExtContact.ListLabelGroups(context.Background(), 0, 20)
	want := []LabelGroup{{Name: "客户类型", Color: -15220075, Labels: []Label{{11, "VIP"}, {12, "普通"}}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("label groups = %+v, %v", got, err)
	}
}

func TestExtContactAllStopsOnShortPage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var offsets []int
	e.mux.HandleFunc("/topapi/extcontact/list", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Offset, Size int }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		offsets = append(offsets, in.Offset)
		if in.Offset == 0 {
			items := make([]ExtContact, 100)
			for i := range items {
				items[i] = ExtContact{UserID: fmt.Sprint("e", i)}
			}
			out, _ := json.Marshal(items)
			fmt.Fprintf(w, `{"errcode":0,"results":%s}`, out)
			return
		}
		fmt.Fprint(w, readTestdata(t, "extcontact_list.json"))
	})
	var got []ExtContact
	for c, err := range e.client.ExtContact.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if len(got) != 101 || fmt.Sprint(offsets) != "[0 100]" {
		t.Fatalf("contacts = %d, offsets = %v", len(got), offsets)
	}
	last := got[100]
	if last.Name != "王五" || last.FollowerUserID != "zhangsan" || !reflect.DeepEqual(last.LabelIDs, []int64{11, 12}) || last.ShareUserIDs[0] != "lisi" {
		t.Errorf("contact = %+v", last)
	}
}

func TestExtContactCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/extcontact/create", func(r *http.Request) {
		testJSONBody(t, r, `{"contact":{"name":"王五","mobile":"13800000000","state_code":"86","follower_user_id":"zhangsan","label_ids":[11],"company_name":"示例"}}`)
	}, `{"errcode":0,"userid":"ext-9"}`)
	e.handle(t, http.MethodPost, "/topapi/extcontact/update", func(r *http.Request) {
		testJSONBody(t, r, `{"contact":{"user_id":"ext-9","name":"王五","follower_user_id":"zhangsan","label_ids":[12]}}`)
	}, `{"errcode":0}`)
	e.handle(t, http.MethodPost, "/topapi/extcontact/delete", func(r *http.Request) {
		testJSONBody(t, r, `{"user_id":"ext-9"}`)
	}, `{"errcode":0}`)
	ctx := context.Background()
	id, err := e.client.ExtContact.Create(ctx, &ExtContactRequest{Name: "王五", Mobile: "13800000000", StateCode: "86", FollowerUserID: "zhangsan", LabelIDs: []int64{11}, CompanyName: "示例"})
	if err != nil || id != "ext-9" {
		t.Fatalf("Create = %q, %v", id, err)
	}
	if err := e.client.ExtContact.Update(ctx, &ExtContactRequest{UserID: "ext-9", Name: "王五", FollowerUserID: "zhangsan", LabelIDs: []int64{12}}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.ExtContact.Delete(ctx, "ext-9"); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		create bool
		r      *ExtContactRequest
	}{
		{true, &ExtContactRequest{Name: "x", FollowerUserID: "f", LabelIDs: []int64{1}}},                            // no mobile
		{true, &ExtContactRequest{Name: "x", Mobile: "1", StateCode: "86", FollowerUserID: "f"}},                    // no labels
		{false, &ExtContactRequest{Name: "x", FollowerUserID: "f", LabelIDs: []int64{1}}},                           // no user_id
		{false, &ExtContactRequest{UserID: "u", Name: "x", Mobile: "1", FollowerUserID: "f", LabelIDs: []int64{1}}}, // mobile on update
	}
	for i, b := range bad {
		var err error
		if b.create {
			_, err = e.client.ExtContact.Create(ctx, b.r)
		} else {
			err = e.client.ExtContact.Update(ctx, b.r)
		}
		if err == nil {
			t.Errorf("bad request %d accepted", i)
		}
	}
}

func TestAllLabelGroups(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := e.handle(t, http.MethodPost, "/topapi/extcontact/listlabelgroups", nil, readTestdata(t, "extcontact_listlabelgroups.json"))
	n := 0
	for g, err := range e.client.ExtContact.AllLabelGroups(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if g.Name != "客户类型" {
			t.Errorf("group = %+v", g)
		}
		n++
	}
	if n != 1 || hits.Load() != 1 {
		t.Errorf("groups = %d, calls = %d; want 1 and 1 (a short page ends the listing)", n, hits.Load())
	}
	if _, err := e.client.ExtContact.List(context.Background(), -1, 10); err == nil {
		t.Error("negative offset accepted")
	}
}
