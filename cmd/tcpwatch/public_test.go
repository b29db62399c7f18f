package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
)

// publicDir returns ../shared/pcaps/public beside the repository (or
// $TCPWATCH_PUBLIC_PCAPS), skipping the test when it is absent.
func publicDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TCPWATCH_PUBLIC_PCAPS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "pcaps", "public")
	}
	if _, err := os.Stat(dir); err != nil {
		testenv.SkipOrFail(t, "public captures not found at %s (set TCPWATCH_PUBLIC_PCAPS): %v", dir, err)
	}
	return dir
}

func publicCaptures(t *testing.T) []string {
	dir := publicDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no captures under %s", dir)
	}
	return files
}

// TestPublicCaptures runs tcpwatch on every public capture (Zeek's,
// suricata-verify's, gopacket's test traces) in every format: no panic, a
// report that parses, exit 0 — or exit 2 with one line on stderr for the
// captures that are broken on purpose — and the same bytes every time.
func TestPublicCaptures(t *testing.T) {
	for _, f := range publicCaptures(t) {
		name := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			var outs [2]bytes.Buffer
			for i := range outs {
				var errb bytes.Buffer
				code := run(context.Background(), []string{"-r", f, "-F", "json", "-v"}, &outs[i], &errb)
				switch {
				case code == 0 && errb.Len() == 0:
				case code == 2 && strings.Count(errb.String(), "\n") == 1:
					t.Logf("exit 2: %s", strings.TrimSpace(errb.String()))
				default:
					t.Fatalf("exit %d, stderr %q", code, errb.String())
				}
				var doc map[string]any
				if err := json.Unmarshal(outs[i].Bytes(), &doc); err != nil {
					t.Fatalf("output is not JSON: %v", err)
				}
			}
			if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
				t.Fatal("two runs gave different output")
			}
			var table, errb bytes.Buffer
			if code := run(context.Background(), []string{"-r", f, "-v", "--all"}, &table, &errb); code != 0 && code != 2 {
				t.Fatalf("table: exit %d: %s", code, errb.String())
			}
		})
	}
}

// TestForgedHandshakeSegmentsAreDropped: suricata-verify's Linux evasion
// trace forges an RST and a FIN-ACK into a handshake with TSecr 100, which
// the client's SYN (TSval 1821165629) never sent. Linux drops both
// (PAWSActiveRejected), answers the FIN with an RST at its ACK, and then
// takes the real SYN-ACK: one connection, established, not a refusal.
func TestForgedHandshakeSegmentsAreDropped(t *testing.T) {
	f := filepath.Join(publicDir(t), "suricata-verify", "7858-stream-events__with_evasion_linux.pcap")
	code, out, errs := runCLI("-r", f, "-F", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Connections []struct {
			ClientState string `json:"client_state"`
			ServerState string `json:"server_state"`
		} `json:"connections"`
		Anomalies []struct {
			Kind   string         `json:"kind"`
			Fields map[string]any `json:"fields"`
		} `json:"anomalies"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Connections) != 1 || doc.Connections[0].ClientState != "ESTABLISHED" || doc.Connections[0].ServerState != "ESTABLISHED" {
		t.Errorf("connections %+v, want one, ESTABLISHED/ESTABLISHED", doc.Connections)
	}
	if len(doc.Anomalies) != 1 || doc.Anomalies[0].Kind != "bad_sequence" || doc.Anomalies[0].Fields["reason"] != "paws_rejected" {
		t.Errorf("findings %+v, want one bad_sequence, paws_rejected", doc.Anomalies)
	}
}
