package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/directory"
)

// needMirror is what reading the mirror needs: the store, which the bundle
// opens for the app.
var needMirror = []string{"DINGTALK_APP_KEY"}

func (a *app) directoryCommand() *cobra.Command {
	return group("directory",
		"Read the directory mirror (通讯录) the sync keeps, and compare it with DingTalk",
		`  dingfn directory user wangwu
  dingfn directory dept 1 --members --recursive
  dingfn directory export --format csv > users.csv
  dingfn directory diff`,
		a.directoryUserCommand(),
		a.directoryDeptCommand(),
		a.directoryExportCommand(),
		a.directoryStatusCommand(),
		a.directoryDiffCommand(),
	)
}

// mirror opens the bundle and a reader of its mirror.
func (a *app) mirror(cmd *cobra.Command) (*directory.Reader, func(), error) {
	b, err := a.open(cmd.Context(), cmd, needMirror)
	if err != nil {
		return nil, nil, err
	}
	return directory.NewReader(b.Store), func() { b.Close() }, nil
}

func (a *app) directoryUserCommand() *cobra.Command {
	var unionID string
	c := &cobra.Command{
		Use:   "user USERID | --unionid UNIONID",
		Short: "Show a user of the mirror, by userid or unionid",
		Long: `Show a user as the directory mirror holds them: name, title, departments,
leadership, contact fields the app may read, and when the mirror last saw
a change. A user who left is still shown, with the time they left, for 90
days; a unionid finds current members only. Exits 6 when not found.`,
		Example: `  dingfn directory user wangwu
  dingfn directory user --unionid 2eqCWZY8nH2iE --json`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if (len(argv) == 1) == (unionID != "") {
				return usageErrorf(cmd, "give a USERID or --unionid, not both")
			}
			r, done, err := a.mirror(cmd)
			if err != nil {
				return err
			}
			defer done()
			ctx := cmd.Context()
			var u directory.User
			if unionID != "" {
				u, err = r.UserByUnionID(ctx, unionID)
			} else {
				u, err = r.User(ctx, argv[0])
			}
			if err != nil {
				return err
			}
			return a.out.emit(u, func() error {
				a.out.fields(a.userFields(ctx, r, u))
				return nil
			})
		},
	}
	c.Flags().StringVar(&unionID, "unionid", "", "find the user by `UNIONID` (from a scan login) instead")
	return c
}

// userFields describes a user for a person, departments by name.
func (a *app) userFields(ctx context.Context, r *directory.Reader, u directory.User) [][2]string {
	deptName := func(id int64) string {
		if d, err := r.Department(ctx, id); err == nil {
			return fmt.Sprintf("%s (%d)", d.Name, id)
		}
		return strconv.FormatInt(id, 10)
	}
	names := func(ids []int64) string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = deptName(id)
		}
		return orDash(strings.Join(out, ", "))
	}
	roles := []string{}
	if u.Admin {
		roles = append(roles, "administrator")
	}
	if u.Boss {
		roles = append(roles, "boss")
	}
	state := "active"
	switch {
	case !u.LeftAt.IsZero():
		state = "LEFT at " + a.out.when(u.LeftAt)
	case !u.Active:
		state = "not activated"
	}
	return [][2]string{
		{"userid", u.UserID},
		{"name", u.Name},
		{"unionid", orDash(u.UnionID)},
		{"title", orDash(u.Title)},
		{"departments", names(u.DeptIDs)},
		{"leads", names(u.LeaderIn)},
		{"manager", orDash(u.ManagerUserID)},
		{"job number", orDash(u.JobNumber)},
		{"mobile", orDash(u.Mobile)},
		{"email", orDash(u.Email)},
		{"roles", orDash(strings.Join(roles, ", "))},
		{"state", state},
		{"changed", a.out.when(u.ChangedAt)},
	}
}

// deptView is the JSON form of `directory dept`.
type deptView struct {
	directory.Department
	Children []directory.Department `json:"children"`
	// Members are present with --members: direct ones, or with
	// --recursive every member below the department.
	Members []directory.User `json:"members,omitempty"`
}

func (a *app) directoryDeptCommand() *cobra.Command {
	var members, recursive bool
	c := &cobra.Command{
		Use:   "dept ID [--members] [--recursive]",
		Short: "Show a department of the mirror, its sub-departments and members",
		Long: `Show a department as the mirror holds it, with its sub-departments and,
with --members, its direct members, or with --recursive everyone in it and
below it. The root department's id is 1. Exits 6 when not found.`,
		Example: `  dingfn directory dept 1
  dingfn directory dept 3 --members
  dingfn directory dept 2 --members --recursive --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			id, err := strconv.ParseInt(argv[0], 10, 64)
			if err != nil || id <= 0 {
				return usageErrorf(cmd, "department ID must be a positive number, got %q", argv[0])
			}
			if recursive {
				members = true
			}
			r, done, err := a.mirror(cmd)
			if err != nil {
				return err
			}
			defer done()
			ctx := cmd.Context()
			d, err := r.Department(ctx, id)
			if err != nil {
				return err
			}
			v := deptView{Department: d, Children: []directory.Department{}}
			if v.Children, err = r.Children(ctx, id); err != nil {
				return err
			}
			if members {
				ids, err := r.Members(ctx, id, recursive)
				if err != nil {
					return err
				}
				if v.Members, err = usersOf(ctx, r, ids); err != nil {
					return err
				}
			}
			return a.out.emit(v, func() error {
				parent := "-"
				if d.ParentID != 0 {
					parent = strconv.FormatInt(d.ParentID, 10)
					if p, err := r.Department(ctx, d.ParentID); err == nil {
						parent = fmt.Sprintf("%s (%d)", p.Name, p.DeptID)
					}
				}
				a.out.fields([][2]string{
					{"id", strconv.FormatInt(d.DeptID, 10)},
					{"name", d.Name},
					{"parent", parent},
					{"managers", orDash(strings.Join(d.ManagerUserIDs, ", "))},
					{"changed", a.out.when(d.ChangedAt)},
				})
				if len(v.Children) > 0 {
					rows := make([][]string, len(v.Children))
					for i, c := range v.Children {
						rows[i] = []string{strconv.FormatInt(c.DeptID, 10), c.Name}
					}
					a.out.printf("\nSub-departments:\n")
					a.out.table([]string{"ID", "NAME"}, rows)
				}
				if members {
					which := "Members"
					if recursive {
						which = "Members, sub-departments included"
					}
					a.out.printf("\n%s (%d):\n", which, len(v.Members))
					rows := make([][]string, len(v.Members))
					for i, u := range v.Members {
						rows[i] = []string{u.UserID, u.Name, orDash(u.Title), joinIDs(u.DeptIDs)}
					}
					a.out.table([]string{"USERID", "NAME", "TITLE", "DEPARTMENTS"}, rows)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&members, "members", false, "list the direct members")
	c.Flags().BoolVar(&recursive, "recursive", false, "list every member of the department and those below it (implies --members)")
	return c
}

// scanAbove is how many members make reading every user in one scan
// cheaper than reading each member.
const scanAbove = 200

// usersOf returns the users of ids, in ids' order; a userid the mirror has
// no row for (written between the two reads) is left out.
func usersOf(ctx context.Context, r *directory.Reader, ids []string) ([]directory.User, error) {
	out := make([]directory.User, 0, len(ids))
	if len(ids) <= scanAbove {
		for _, id := range ids {
			u, err := r.User(ctx, id)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return nil, err
			}
			out = append(out, u)
		}
		return out, nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	byID := make(map[string]directory.User, len(ids))
	for u, err := range r.Users(ctx) {
		if err != nil {
			return nil, err
		}
		if want[u.UserID] {
			byID[u.UserID] = u
		}
	}
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ";")
}

// Export formats.
const (
	formatJSONL = "jsonl"
	formatCSV   = "csv"
)

var (
	userCSVHeader = []string{"userid", "unionid", "name", "title", "mobile", "email", "org_email", "job_number", "manager_userid", "dept_ids", "leader_in", "active", "admin", "boss", "changed_at"}
	deptCSVHeader = []string{"dept_id", "name", "parent_id", "order", "manager_userids", "changed_at"}
)

func (a *app) directoryExportCommand() *cobra.Command {
	var (
		format string
		depts  bool
	)
	c := &cobra.Command{
		Use:   "export [--format jsonl|csv] [--departments]",
		Short: "Write every current user (or department) of the mirror to standard output",
		Long: `Write the mirror's current users — or with --departments its departments —
as JSON lines (each the mirror's record, as in the README's dir_users and
dir_departments tables) or as CSV with a header row. Lists are
semicolon-separated in CSV. People who left are not exported.`,
		Example: `  dingfn directory export > users.jsonl
  dingfn directory export --format csv > users.csv
  dingfn directory export --departments --format csv > departments.csv`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != formatJSONL && format != formatCSV {
				return usageErrorf(cmd, "--format must be %s or %s, got %q", formatJSONL, formatCSV, format)
			}
			r, done, err := a.mirror(cmd)
			if err != nil {
				return err
			}
			defer done()
			ctx := cmd.Context()
			enc := json.NewEncoder(a.env.Stdout)
			enc.SetEscapeHTML(false)
			cw := csv.NewWriter(a.env.Stdout)
			if depts {
				if format == formatCSV {
					_ = cw.Write(deptCSVHeader)
				}
				for d, err := range r.Departments(ctx) {
					if err != nil {
						return err
					}
					if format == formatJSONL {
						if err := enc.Encode(d); err != nil {
							return err
						}
						continue
					}
					_ = cw.Write([]string{strconv.FormatInt(d.DeptID, 10), d.Name, strconv.FormatInt(d.ParentID, 10),
						strconv.FormatInt(d.Order, 10), strings.Join(d.ManagerUserIDs, ";"), d.ChangedAt.UTC().Format(timeCSV)})
				}
			} else {
				if format == formatCSV {
					_ = cw.Write(userCSVHeader)
				}
				for u, err := range r.Users(ctx) {
					if err != nil {
						return err
					}
					if format == formatJSONL {
						if err := enc.Encode(u); err != nil {
							return err
						}
						continue
					}
					_ = cw.Write([]string{u.UserID, u.UnionID, u.Name, u.Title, u.Mobile, u.Email, u.OrgEmail, u.JobNumber, u.ManagerUserID,
						joinIDs(u.DeptIDs), joinIDs(u.LeaderIn), strconv.FormatBool(u.Active), strconv.FormatBool(u.Admin),
						strconv.FormatBool(u.Boss), u.ChangedAt.UTC().Format(timeCSV)})
				}
			}
			cw.Flush()
			return cw.Error()
		},
	}
	c.Flags().StringVar(&format, "format", formatJSONL, "output format: jsonl or csv")
	c.Flags().BoolVar(&depts, "departments", false, "export departments instead of users")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatJSONL, formatCSV}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// timeCSV is how CSV exports write times.
const timeCSV = "2006-01-02T15:04:05Z"

func (a *app) directoryStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show when the mirror was last walked completely, and the walk in progress",
		Example: `  dingfn directory status
  dingfn directory status --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, done, err := a.mirror(cmd)
			if err != nil {
				return err
			}
			defer done()
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			return a.out.emit(st, func() error {
				pairs := [][2]string{}
				if lc := st.LastComplete; lc != nil {
					pairs = append(pairs,
						[2]string{"Last complete walk", fmt.Sprintf("%s (%s ago, %d ticks)", a.out.when(lc.CompletedAt), duration(a.env.Now().Sub(lc.CompletedAt)), lc.Ticks)},
						[2]string{"Mirror", fmt.Sprintf("%d users, %d departments", lc.Users, lc.Departments)})
				} else {
					pairs = append(pairs, [2]string{"Last complete walk", "none yet: run dingfn sync"})
				}
				if w := st.Walk; w != nil {
					pairs = append(pairs, [2]string{"Walk in progress", fmt.Sprintf("started %s, %d departments queued, %d users seen", a.out.when(w.StartedAt), len(w.Queue), w.Totals.Users.Seen)})
				}
				a.out.fields(pairs)
				return nil
			})
		},
	}
}

// isNotFound reports a lookup the mirror has no answer for.
func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }
