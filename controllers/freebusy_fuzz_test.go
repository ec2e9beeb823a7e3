package controllers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzFreeBusyServing drives the manager's free/busy HTTP handler with arbitrary paths and methods: it must
// never panic, never answer a write, and serve a body only for exactly /freebusy/<stored name>.vfb.
func FuzzFreeBusyServing(f *testing.F) {
	f.Add("GET", "/freebusy/alice.vfb")
	f.Add("HEAD", "/freebusy/../alice.vfb")
	f.Add("PUT", "/freebusy/alice.vfb")
	f.Add("GET", "/freebusy/alice.vfb/x.vfb")
	f.Add("GET", "/freebusy/.vfb")
	f.Add("", "/freebusy/alice.vfb") // net/http reads an empty method as GET
	f.Fuzz(func(t *testing.T, method, path string) {
		files := NewFreeBusyFiles()
		if err := files.Put("alice", "ns/alice", []byte("BEGIN:VCALENDAR\r\n"), time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(method, "http://manager"+path, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		files.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				t.Fatalf("%s %s answered 200", req.Method, path)
			}
			if req.URL.Path != "/freebusy/alice.vfb" {
				t.Fatalf("%s served a file", req.URL.Path)
			}
			if req.Method == http.MethodGet && !strings.HasPrefix(rec.Body.String(), "BEGIN:VCALENDAR") {
				t.Fatalf("body %q", rec.Body.String())
			}
		}
	})
}
