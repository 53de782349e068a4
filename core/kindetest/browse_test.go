package kindetest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBrowse(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "1"})
		http.Redirect(w, r, "/c", http.StatusFound)
	})
	mux.HandleFunc("/c", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("c"); err != nil || r.Header.Get("Accept") != "text/html" {
			http.Error(w, "no cookie or header", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("done"))
	})
	mux.HandleFunc("/out", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/x", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Jar: NewCookieJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hdr := http.Header{"Accept": {"text/html"}}

	hops, offsite, err := Browse(client, srv.URL+"/a", hdr, srv.URL)
	if err != nil || offsite != "" || len(hops) != 3 || hops[2].Status != 200 || hops[2].Body != "done" {
		t.Fatalf("hops %+v, offsite %q, err %v", hops, offsite, err)
	}
	hops, offsite, err = Browse(client, srv.URL+"/out", hdr, srv.URL)
	if err != nil || offsite != "https://elsewhere.example/x" || len(hops) != 1 {
		t.Fatalf("hops %+v, offsite %q, err %v", hops, offsite, err)
	}
}
