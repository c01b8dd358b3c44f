package dingtalk

func registerMore(r *Registry) {}
