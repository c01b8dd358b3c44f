package dingtalk

// MessageService sends work notices (工作通知).
type MessageService service

// RobotService sends custom group robot (自定义机器人) messages.
type RobotService service

// ProcessService covers approvals (OA 审批).
type ProcessService service

// CallbackService manages event callback (事件回调) registration.
type CallbackService service

// AttendanceService covers attendance (考勤).
type AttendanceService service

// ExtContactService covers external contacts (外部联系人).
type ExtContactService service

// CSpaceService covers the custom space (自定义空间) of 钉盘.
type CSpaceService service
