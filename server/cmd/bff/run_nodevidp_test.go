//go:build nodevidp

package main

import (
	"strings"
	"testing"
)

// The Docker image's build leaves the built-in provider out: without an
// environment it refuses to start, saying what to set and why; with one it
// starts as any build does.
func TestRunWithoutTheBuiltInProvider(t *testing.T) {
	out := &syncBuffer{}
	err := run(t.Context(), nil, func(k string) string { return map[string]string{"APP_ENV": "test"}[k] }, out)
	if err == nil || !strings.Contains(err.Error(), "SCALEKIT_ENVIRONMENT_URL: want your Scalekit environment URL") || !strings.Contains(err.Error(), "-tags nodevidp") {
		t.Errorf("run(no environment) = %v; want a refusal naming SCALEKIT_ENVIRONMENT_URL and the build", err)
	}
	if strings.Contains(out.String(), "DEVELOPMENT IDENTITY PROVIDER") {
		t.Errorf("run(no environment) announced a provider:\n%s", out)
	}

	app := freePort(t)
	env := map[string]string{
		"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app,
		// Discovery is lazy: the server starts before the environment answers.
		"SCALEKIT_ENVIRONMENT_URL": "http://127.0.0.1:9", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b",
	}
	startRun(t, env) // and a clean stop when the test ends
}
