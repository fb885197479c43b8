package testrepo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binaries are the project's commands built once per test process.
type Binaries struct {
	Grite string // cmd/grite
	MCP   string // cmd/grite-mcp
}

var (
	buildOnce sync.Once
	buildDir  string
	built     Binaries
	buildErr  error
)

// BuildBinaries runs `go build` of ./cmd/grite and ./cmd/grite-mcp once per
// test process into a temporary directory and returns their paths. Call
// RemoveBinaries from TestMain to delete the directory afterwards.
func BuildBinaries(t testing.TB) Binaries {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, err = os.MkdirTemp("", "grite-bin-"); err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+string(filepath.Separator), "./cmd/grite", "./cmd/grite-mcp")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
			return
		}
		built = Binaries{Grite: filepath.Join(buildDir, "grite"), MCP: filepath.Join(buildDir, "grite-mcp")}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// RemoveBinaries deletes what BuildBinaries built (call it from TestMain).
func RemoveBinaries() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// processTimeout bounds one grite process so a hang fails the test instead
// of the whole run.
const processTimeout = 3 * time.Minute

// RunGrite runs the grite binary in dir with the Env() environment and
// returns its stdout, stderr and exit code. It is safe to call from several
// goroutines of one test (after BuildBinaries ran once on the test's own
// goroutine): a process that cannot be started is reported with t.Errorf
// and exit code -1.
func RunGrite(t testing.TB, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return RunGriteEnv(t, dir, nil, args...)
}

// RunGriteEnv is RunGrite with extra environment variables ("K=V").
func RunGriteEnv(t testing.TB, dir string, extraEnv []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := BuildBinaries(t).Grite
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(Env(), extraEnv...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0
	case ctx.Err() != nil:
		t.Errorf("grite %s: killed after %v\nstderr: %s", strings.Join(args, " "), processTimeout, e.String())
		return o.String(), e.String(), -1
	case errors.As(err, &exit):
		return o.String(), e.String(), exit.ExitCode()
	}
	t.Errorf("grite %s: %v", strings.Join(args, " "), err)
	return o.String(), e.String(), -1
}
