package controllers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzFreeBusyServing drives the manager's free/busy HTTP handler with arbitrary paths and methods: it must
// never panic, never answer a write, and serve a body only for exactly /freebusy/<namespace>/<stored name>.vfb,
// or /freebusy/<stored name>.vfb for the global namespace's file, never another namespace's.
func FuzzFreeBusyServing(f *testing.F) {
	f.Add("GET", "/freebusy/ns/alice.vfb")
	f.Add("GET", "/freebusy/alice.vfb")
	f.Add("GET", "/freebusy/other/alice.vfb")
	f.Add("HEAD", "/freebusy/../alice.vfb")
	f.Add("PUT", "/freebusy/ns/alice.vfb")
	f.Add("GET", "/freebusy/ns/alice.vfb/x.vfb")
	f.Add("GET", "/freebusy/ns/.vfb")
	f.Add("GET", "/freebusy//alice.vfb")
	f.Add("", "/freebusy/ns/alice.vfb") // net/http reads an empty method as GET
	f.Fuzz(func(t *testing.T, method, path string) {
		files := NewFreeBusyFiles()
		files.GlobalNamespace = "ns"
		if err := files.Put("ns", "alice", "ns/alice", []byte("BEGIN:VCALENDAR\r\nX-NS:ns\r\n"), time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
		if err := files.Put("other", "alice", "other/alice", []byte("BEGIN:VCALENDAR\r\nX-NS:other\r\n"), time.Unix(0, 0)); err != nil {
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
			var wantNS string
			switch req.URL.Path {
			case "/freebusy/ns/alice.vfb", "/freebusy/alice.vfb":
				wantNS = "ns"
			case "/freebusy/other/alice.vfb":
				wantNS = "other"
			default:
				t.Fatalf("%s served a file", req.URL.Path)
			}
			if req.Method == http.MethodGet && rec.Body.String() != "BEGIN:VCALENDAR\r\nX-NS:"+wantNS+"\r\n" {
				t.Fatalf("%s: body %q, want namespace %s's", req.URL.Path, rec.Body.String(), wantNS)
			}
		}
	})
}
