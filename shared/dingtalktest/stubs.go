package dingtalktest

type noticeState struct{}

func (n *noticeState) init() {}

type robotState struct{ cfg RobotConfig }

// RobotConfig configures a group robot.
type RobotConfig struct {
	Secret   string
	Keywords []string
}

type processState struct{}

func (p *processState) init() {}

type callbackState struct{}

func (c *callbackState) init(token, key string) {}

type extState struct{}

func (e *extState) init() {}
