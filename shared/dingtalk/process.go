package dingtalk

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
)

// ProcessService covers approvals (OA 审批) on the new workflow API, which
// replaced topapi/processinstance/* (historical since 2022-10-08). The old
// TOP names stay reachable through Client.Call.
type ProcessService service

var (
	epProcCreate  = apiEP(http.MethodPost, "/v1.0/workflow/processInstances", false)
	epProcGet     = apiEP(http.MethodGet, "/v1.0/workflow/processInstances", true)
	epProcListIDs = apiEP(http.MethodPost, "/v1.0/workflow/processes/instanceIds/query", true)

	// Historical endpoints, for Call with the TOP names.
	epTopProcCreate  = oapiEP(http.MethodPost, "/topapi/processinstance/create", false)
	epTopProcGet     = oapiEP(http.MethodPost, "/topapi/processinstance/get", true)
	epTopProcListIDs = oapiEP(http.MethodPost, "/topapi/processinstance/listids", true)
)

// FormComponentValue is one form field of an approval. Text is a plain
// string; multi-select, date ranges, images, contacts and attachments are
// JSON text as DingTalk documents for each component.
type FormComponentValue struct {
	ID            string `json:"id,omitempty"`
	Name          string `json:"name"`
	Value         string `json:"value"`
	ExtValue      string `json:"extValue,omitempty"`
	ComponentType string `json:"componentType,omitempty"`
	BizAlias      string `json:"bizAlias,omitempty"`
}

// ProcessApprover is one approval node: ActionType "AND" (all must
// approve), "OR" (any one) or "NONE" (a single approver).
type ProcessApprover struct {
	ActionType string   `json:"actionType"`
	UserIDs    []string `json:"userIds"`
}

// TargetSelectActioner fills an approver node the submitter chooses.
type TargetSelectActioner struct {
	ActionerKey     string   `json:"actionerKey"`
	ActionerUserIDs []string `json:"actionerUserIds"`
}

// CreateProcessInstanceRequest starts an approval. ProcessCode
// ("PROC-…"), OriginatorUserID and FormComponentValues are required.
// Without Approvers the flow set up in the console runs.
type CreateProcessInstanceRequest struct {
	OriginatorUserID      string                 `json:"originatorUserId"`
	ProcessCode           string                 `json:"processCode"`
	DeptID                int64                  `json:"deptId,omitempty"` // -1 = root
	MicroappAgentID       int64                  `json:"microappAgentId,omitempty"`
	Approvers             []ProcessApprover      `json:"approvers,omitempty"`
	CCList                []string               `json:"ccList,omitempty"`
	CCPosition            string                 `json:"ccPosition,omitempty"` // START, FINISH, START_FINISH
	TargetSelectActioners []TargetSelectActioner `json:"targetSelectActioners,omitempty"`
	FormComponentValues   []FormComponentValue   `json:"formComponentValues"`
}

// CreateInstance starts an approval instance and returns its id. It is
// never resent after a failure with an unknown outcome: an approval
// cannot be edited or deduplicated afterwards. Replaces TOP
// dingtalk.smartwork.bpms.processinstance.create.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/create-an-approval-instance
func (s *ProcessService) CreateInstance(ctx context.Context, req *CreateProcessInstanceRequest) (string, error) {
	switch {
	case req == nil || req.ProcessCode == "" || req.OriginatorUserID == "":
		return "", errors.New("dingtalk: CreateInstance needs ProcessCode and OriginatorUserID")
	case len(req.FormComponentValues) == 0:
		return "", errors.New("dingtalk: CreateInstance needs FormComponentValues")
	case len(req.FormComponentValues) > 150:
		return "", errors.New("dingtalk: CreateInstance takes at most 150 form values")
	case len(req.CCList) > 50:
		return "", errors.New("dingtalk: CreateInstance takes at most 50 cc users")
	}
	var out struct {
		InstanceID string `json:"instanceId"`
	}
	if err := s.client.api(ctx, epProcCreate, nil, req, &out); err != nil {
		return "", err
	}
	return out.InstanceID, nil
}

// ProcessInstance is an approval instance. Times are kept as the strings
// DingTalk sends.
type ProcessInstance struct {
	Title                      string               `json:"title"`
	CreateTime                 string               `json:"createTime"`
	FinishTime                 string               `json:"finishTime"`
	OriginatorUserID           string               `json:"originatorUserId"`
	OriginatorDeptID           string               `json:"originatorDeptId"`
	OriginatorDeptName         string               `json:"originatorDeptName"`
	Status                     string               `json:"status"` // NEW RUNNING TERMINATED COMPLETED CANCELED
	Result                     string               `json:"result"` // agree refuse
	ApproverUserIDs            []string             `json:"approverUserIds"`
	CCUserIDs                  []string             `json:"ccUserIds"`
	BusinessID                 string               `json:"businessId"`
	BizAction                  string               `json:"bizAction"`
	BizData                    string               `json:"bizData,omitempty"`
	AttachedProcessInstanceIDs []string             `json:"attachedProcessInstanceIds"`
	MainProcessInstanceID      string               `json:"mainProcessInstanceId"`
	FormComponentValues        []FormComponentValue `json:"formComponentValues"`
	OperationRecords           []OperationRecord    `json:"operationRecords"`
	Tasks                      []ProcessTask        `json:"tasks"`
}

// OperationRecord is one step in an approval's history.
type OperationRecord struct {
	UserID      string              `json:"userId"`
	Date        string              `json:"date"`
	Type        string              `json:"type"`
	Result      string              `json:"result"`
	Remark      string              `json:"remark"`
	CCUserIDs   []string            `json:"ccUserIds,omitempty"`
	Attachments []ProcessAttachment `json:"attachments,omitempty"`
}

// ProcessAttachment is a file attached to an operation record.
type ProcessAttachment struct {
	FileName string `json:"fileName"`
	FileSize string `json:"fileSize"`
	FileID   string `json:"fileId"`
	FileType string `json:"fileType"`
}

// ProcessTask is one approver's task.
type ProcessTask struct {
	TaskID            int64  `json:"taskId"`
	UserID            string `json:"userId"`
	Status            string `json:"status"`
	Result            string `json:"result"`
	CreateTime        string `json:"createTime"`
	FinishTime        string `json:"finishTime"`
	MobileURL         string `json:"mobileUrl"`
	PCURL             string `json:"pcUrl"`
	ProcessInstanceID string `json:"processInstanceId"`
	ActivityID        string `json:"activityId"`
}

// GetInstance returns an approval instance. Replaces TOP
// dingtalk.smartwork.bpms.processinstance.get.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtains-the-details-of-a-single-approval-instance-pop
func (s *ProcessService) GetInstance(ctx context.Context, instanceID string) (*ProcessInstance, error) {
	if instanceID == "" {
		return nil, errors.New("dingtalk: GetInstance needs an instance id")
	}
	return result[ProcessInstance](ctx, s.client, epProcGet, url.Values{"processInstanceId": {instanceID}}, nil)
}

// ListInstanceIDsRequest selects approval instances of one process by
// creation time (ms since the epoch). StartTime must be within 120 days of
// now alone, or at most 365 days ago with a span of at most 120 days.
// MaxResults is 1–20 (0 means 20); NextToken is 0 for the first page.
type ListInstanceIDsRequest struct {
	ProcessCode string   `json:"processCode"`
	StartTime   int64    `json:"startTime"`
	EndTime     int64    `json:"endTime,omitempty"`
	NextToken   int64    `json:"nextToken"`
	MaxResults  int      `json:"maxResults"`
	UserIDs     []string `json:"userIds,omitempty"`
	Statuses    []string `json:"statuses,omitempty"`
}

// InstanceIDPage is one page of ListInstanceIDs; NextToken is 0 on the
// last page.
type InstanceIDPage struct {
	List      []string `json:"list"`
	NextToken int64    `json:"-"`
}

// ListInstanceIDs returns one page of approval instance ids. Replaces TOP
// dingtalk.smartwork.bpms.processinstance.list.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-an-approval-list-of-instance-ids
func (s *ProcessService) ListInstanceIDs(ctx context.Context, req ListInstanceIDsRequest) (*InstanceIDPage, error) {
	if req.ProcessCode == "" || req.StartTime == 0 {
		return nil, errors.New("dingtalk: ListInstanceIDs needs ProcessCode and StartTime")
	}
	if req.MaxResults == 0 {
		req.MaxResults = 20
	}
	if req.MaxResults < 1 || req.MaxResults > 20 {
		return nil, errors.New("dingtalk: ListInstanceIDs MaxResults must be within 1..20")
	}
	var out struct {
		Result struct {
			List      []string `json:"list"`
			NextToken flexInt  `json:"nextToken"`
		} `json:"result"`
	}
	if err := s.client.api(ctx, epProcListIDs, nil, req, &out); err != nil {
		return nil, err
	}
	return &InstanceIDPage{List: out.Result.List, NextToken: int64(out.Result.NextToken)}, nil
}

// AllInstanceIDs yields every matching approval instance id (at most
// 10,000, DingTalk's cap).
func (s *ProcessService) AllInstanceIDs(ctx context.Context, req ListInstanceIDsRequest) iter.Seq2[string, error] {
	return pages(req.NextToken, func(token int64) ([]string, int64, bool, error) {
		r := req
		r.NextToken = token
		p, err := s.ListInstanceIDs(ctx, r)
		if err != nil {
			return nil, 0, false, err
		}
		return p.List, p.NextToken, p.NextToken != 0 && p.NextToken != token && len(p.List) > 0, nil
	})
}
