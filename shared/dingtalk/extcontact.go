package dingtalk

import (
	"context"
	"errors"
	"iter"
	"net/http"
)

// ExtContactService covers external contacts (外部联系人) and their labels.
type ExtContactService service

var (
	epExtLabelGroups = oapiEP(http.MethodPost, "/topapi/extcontact/listlabelgroups", true)
	epExtList        = oapiEP(http.MethodPost, "/topapi/extcontact/list", true)
	epExtCreate      = oapiEP(http.MethodPost, "/topapi/extcontact/create", false)
	epExtUpdate      = oapiEP(http.MethodPost, "/topapi/extcontact/update", false)
	epExtDelete      = oapiEP(http.MethodPost, "/topapi/extcontact/delete", false)
)

// MaxExtPageSize is the largest page of external contacts or label groups.
const MaxExtPageSize = 100

// LabelGroup is a group of external-contact labels (标签).
type LabelGroup struct {
	Name   string  `json:"name"`
	Color  int64   `json:"color"`
	Labels []Label `json:"labels"`
}

// Label is an external-contact label.
type Label struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ListLabelGroups returns one page of label groups; a page shorter than
// size is the last. Replaces TOP dingtalk.corp.ext.listlabelgroups.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtains-a-list-of-external-contact-tags
func (s *ExtContactService) ListLabelGroups(ctx context.Context, offset, size int) ([]LabelGroup, error) {
	return listExt[LabelGroup](ctx, s.client, epExtLabelGroups, offset, size)
}

// AllLabelGroups yields every label group. DingTalk gives no has_more, so
// a short page ends the listing.
func (s *ExtContactService) AllLabelGroups(ctx context.Context) iter.Seq2[LabelGroup, error] {
	return shortPages(func(offset int) ([]LabelGroup, error) {
		return s.ListLabelGroups(ctx, offset, MaxExtPageSize)
	})
}

// ExtContact is an external contact.
type ExtContact struct {
	UserID         string   `json:"userid"`
	Name           string   `json:"name"`
	Mobile         string   `json:"mobile"`
	StateCode      string   `json:"state_code"`
	Title          string   `json:"title,omitempty"`
	CompanyName    string   `json:"company_name,omitempty"`
	Address        string   `json:"address,omitempty"`
	Remark         string   `json:"remark,omitempty"`
	Email          string   `json:"email,omitempty"`
	FollowerUserID string   `json:"follower_user_id"`
	LabelIDs       []int64  `json:"label_ids"`
	ShareDeptIDs   []int64  `json:"share_dept_ids,omitempty"`
	ShareUserIDs   []string `json:"share_user_ids,omitempty"`
}

// List returns one page of external contacts; a page shorter than size is
// the last. Replaces TOP dingtalk.corp.ext.list.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-external-contact-list
func (s *ExtContactService) List(ctx context.Context, offset, size int) ([]ExtContact, error) {
	return listExt[ExtContact](ctx, s.client, epExtList, offset, size)
}

// All yields every external contact.
func (s *ExtContactService) All(ctx context.Context) iter.Seq2[ExtContact, error] {
	return shortPages(func(offset int) ([]ExtContact, error) {
		return s.List(ctx, offset, MaxExtPageSize)
	})
}

// ExtContactRequest creates or updates an external contact. Create needs
// Name, Mobile, StateCode ("86"), FollowerUserID and LabelIDs; Update
// needs UserID, Name, FollowerUserID and LabelIDs and cannot change Mobile.
type ExtContactRequest struct {
	UserID         string   `json:"user_id,omitempty"`
	Name           string   `json:"name"`
	Mobile         string   `json:"mobile,omitempty"`
	StateCode      string   `json:"state_code,omitempty"`
	FollowerUserID string   `json:"follower_user_id"`
	LabelIDs       []int64  `json:"label_ids"`
	Title          string   `json:"title,omitempty"`
	CompanyName    string   `json:"company_name,omitempty"`
	Address        string   `json:"address,omitempty"`
	Remark         string   `json:"remark,omitempty"`
	ShareDeptIDs   []int64  `json:"share_dept_ids,omitempty"`
	ShareUserIDs   []string `json:"share_user_ids,omitempty"`
}

func (r *ExtContactRequest) validate(create bool) error {
	switch {
	case r == nil:
		return errors.New("nil contact")
	case r.Name == "" || r.FollowerUserID == "" || len(r.LabelIDs) == 0:
		return errors.New("name, follower_user_id and label_ids are required")
	case create && (r.Mobile == "" || r.StateCode == ""):
		return errors.New("mobile and state_code are required")
	case create && r.UserID != "":
		return errors.New("user_id must be empty on create")
	case !create && r.UserID == "":
		return errors.New("user_id is required")
	case !create && r.Mobile != "":
		return errors.New("mobile cannot be updated")
	case len(r.ShareDeptIDs) > 20 || len(r.ShareUserIDs) > 20:
		return errors.New("at most 20 share_dept_ids and 20 share_user_ids")
	}
	return nil
}

// Create adds an external contact and returns its userid. Replaces TOP
// dingtalk.corp.ext.add.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/add-enterprise-external-contacts
func (s *ExtContactService) Create(ctx context.Context, c *ExtContactRequest) (string, error) {
	if err := c.validate(true); err != nil {
		return "", errors.Join(errors.New("dingtalk: external contact create"), err)
	}
	var out struct {
		UserID string `json:"userid"`
	}
	if err := s.client.oapi(ctx, epExtCreate, nil, map[string]any{"contact": c}, &out); err != nil {
		return "", err
	}
	return out.UserID, nil
}

// Update changes an external contact. Replaces TOP dingtalk.corp.ext.update.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/update-enterprise-external-contacts
func (s *ExtContactService) Update(ctx context.Context, c *ExtContactRequest) error {
	if err := c.validate(false); err != nil {
		return errors.Join(errors.New("dingtalk: external contact update"), err)
	}
	return s.client.oapi(ctx, epExtUpdate, nil, map[string]any{"contact": c}, nil)
}

// Delete removes an external contact.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/delete-external-contact
func (s *ExtContactService) Delete(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("dingtalk: external contact delete needs a userid")
	}
	return s.client.oapi(ctx, epExtDelete, nil, map[string]string{"user_id": userID}, nil)
}
