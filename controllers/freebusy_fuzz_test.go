package controllers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// fakeServedFiles are files served from controller-runtime's fake client: fuzz workers run without the
// control plane (see TestMain), and the handler only reads objects, which the fake holds as the cache would.
func fakeServedFiles() *FreeBusyFiles {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(mailshiftv1.AddToScheme(s))
	var objs []client.Object
	for _, ns := range []string{"ns", "other"} {
		fb := &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-fb", UID: types.UID("uid-" + ns)},
			Spec: mailshiftv1.FreeBusyPublicationSpec{ServeHTTP: true}}
		objs = append(objs, fb, freeBusyConfigMap(fb, "alice", []byte("BEGIN:VCALENDAR\r\nX-NS:"+ns+"\r\n"), time.Unix(0, 0)))
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	files := NewFreeBusyFiles(c, c, c)
	files.GlobalNamespace = "ns"
	return files
}

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
	files := fakeServedFiles()
	f.Fuzz(func(t *testing.T, method, path string) {
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
