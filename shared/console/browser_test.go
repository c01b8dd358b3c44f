package console_test

import (
	"context"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshotTo = flag.String("screenshot", "", "also write the browser test's screenshot of the console to this PNG file (docs/console.png)")

// chromium finds a Chromium or Chrome, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine: install Debian's package (apt-get install -y chromium) to run the console's browser test; CI's .ci/run does")
	return ""
}

// browser starts a headless Chromium for the test and returns a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1100),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first run starts the browser, under no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// waitFor waits until the JavaScript condition holds in the page,
// re-checking it at every change of the DOM.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v\nthe page reads:\n%.6000s", what, err, page)
	}
}

// text is a JavaScript condition: some element matching sel contains s.
func text(sel, s string) string {
	return `[...document.querySelectorAll(` + strconv.Quote(sel) + `)].some(e => e.textContent.includes(` + strconv.Quote(s) + `))`
}

// The console in a real browser: the page loads and goes live, a
// simulator button adds a person, the push reaches the callback and the
// person shows in the simulated organisation and the mirror; the notice
// form sends a notice that shows in the sent list; a robot message shows
// rendered; and the page never holds a credential. It saves a screenshot
// in the test's artifact directory (and, with -screenshot FILE, there).
func TestBrowserConsole(t *testing.T) {
	ctx := browser(t)
	s := startDev(t)
	for _, timer := range []string{"token-refresher", "sync"} {
		if code, b := do(t, http.MethodPost, s.URL+"/timers/"+timer, ""); code != http.StatusOK {
			t.Fatalf("%s: %d %s", timer, code, b)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the stream", `document.querySelector("#live").classList.contains("on")`)
	waitFor(t, ctx, "the mirror", text("#mirror-tree .person", "王五"))
	waitFor(t, ctx, "the simulated organisation", text("#sim-tree .person", "王五"))
	waitFor(t, ctx, "the department list", `document.querySelectorAll("#sim-add-dept option").length === 7`)

	// A simulator button: a person joins 后端组 (3).
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#sim-add-name"), "测试员"),
		chromedp.SetValue(chromedp.CSS("#sim-add-dept"), "3"),
		chromedp.Click(chromedp.CSS("#sim-add-btn")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the new person in the simulated organisation", text(`#sim-tree li[data-dept="3"] > details > .members .person`, "测试员"))
	// The simulated DingTalk pushes user_add_org to the callback; the event
	// log records it and its contacts handler writes the person into the
	// mirror.
	waitFor(t, ctx, "the push in the event log, done", `[...document.querySelectorAll('#event-log tbody tr[data-type="user_add_org"]')].some(r => r.querySelector(".status").textContent === "done")`)
	waitFor(t, ctx, "the new person in the mirror", text(`#mirror-tree li[data-dept="3"] > details > .members .person`, "测试员"))

	// Replay it: the event runs again and ends done again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#event-log tbody tr[data-type="user_add_org"] button[data-replay]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the replay's answer", text(".toast", "replayed"))
	waitFor(t, ctx, "the replayed event done", `[...document.querySelectorAll('#event-log tbody tr[data-type="user_add_org"]')].every(r => r.querySelector(".status").textContent === "done")`)

	// Sync now: the tick runs and its report replaces the timer's.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#sync-now"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the console's sync tick", text("#sync-last h3", "console")+` && `+text(`#sync-steps [data-step="directory"] .status`, "done"))
	waitFor(t, ctx, "token health", `document.querySelectorAll('#tokens tbody tr').length === 2 && [...document.querySelectorAll('#tokens tbody .status')].every(s => s.textContent === "ok")`)

	// The notice form.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#notice-to"), "lisi,wangwu"),
		chromedp.SetValue(chromedp.CSS("#notice-type"), "markdown"),
		chromedp.SetValue(chromedp.CSS("#notice-title"), "发布通知"),
		chromedp.SetValue(chromedp.CSS("#notice-content"), "### v1.4 今晚上线\n- 请留意"),
		chromedp.Click(chromedp.CSS("#notice-send")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the notice in the sent list", text("#notice-list tbody tr", "发布通知")+` && `+text("#notice-list tbody tr .status", "sent"))
	if n := len(s.Fake.NoticesDeliveredTo("wangwu")); n != 1 {
		t.Errorf("wangwu got %d notices, want 1", n)
	}

	// A robot message sent through notify shows rendered.
	if code, b := do(t, http.MethodPost, s.URL+"/notify/v1/robots/demo/messages",
		`{"msgtype":"markdown","markdown":{"title":"构建","text":"#### 构建成功\n- 分支 **main**\n- 用时 42 s"}}`,
		"Authorization", "Bearer "+s.NotifyAPIKey); code != http.StatusOK {
		t.Fatalf("robot: %d %s", code, b)
	}
	waitFor(t, ctx, "the robot message", text("#robot-messages .msg h4", "构建成功")+` && `+text("#robot-messages .msg strong", "main"))

	// An approval, agreed.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#sim-user"), "zhengshi"),
		chromedp.Click(chromedp.CSS("#sim-approval-btn")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the approval", text("#approvals tbody tr", "郑十提交的审批"))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#approvals tbody tr button"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the agreed approval", text("#approvals tbody tr .status", "COMPLETED"))

	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if names := leaked([]byte(html), secrets(t, s)); names != nil {
		t.Errorf("the page holds the %v", names)
	}

	// The toasts of the buttons above fade by themselves; the picture is
	// of the panels.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".toast").forEach(e => e.remove()), window.scrollTo(0, 0), true`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.ArtifactDir(), "console.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
	if *screenshotTo != "" {
		if err := os.WriteFile(*screenshotTo, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
