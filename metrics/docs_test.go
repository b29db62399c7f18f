package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
)

// exported returns the names of the metrics the exporter serves.
func exported() map[string]bool {
	ch := make(chan *prometheus.Desc, 32)
	(&Exporter{}).Describe(ch)
	close(ch)
	names := map[string]bool{}
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		names[re.FindStringSubmatch(d.String())[1]] = true
	}
	return names
}

// usesOnlyExported checks that every tcpwatch_ metric an expression names
// is one the exporter serves.
func usesOnlyExported(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, m := range regexp.MustCompile(`tcpwatch_[a-z_0-9]+`).FindAllString(expr, -1) {
		if !names[m] {
			t.Errorf("%s uses %s, which tcpwatch does not export", where, m)
		}
	}
}

// TestAlertRulesAreValid: docs/prometheus-alerts.yml passes promtool check
// rules and names only exported metrics.
func TestAlertRulesAreValid(t *testing.T) {
	path := filepath.Join("..", "docs", "prometheus-alerts.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := exported()
	for _, line := range strings.Split(string(b), "\n") {
		if expr, ok := strings.CutPrefix(strings.TrimSpace(line), "expr:"); ok {
			usesOnlyExported(t, path, expr, names)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.SkipOrFail(t, "promtool not installed (scripts/setup.sh installs Debian's prometheus)")
		return
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestGrafanaDashboardUsesExportedMetrics: the dashboard is JSON, and its
// queries name only exported metrics.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	names := exported()
	n := 0
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			usesOnlyExported(t, "panel "+p.Title, q.Expr, names)
			n++
		}
	}
	if n < 5 {
		t.Errorf("%d queries in the dashboard, want one per panel at least", n)
	}
}
