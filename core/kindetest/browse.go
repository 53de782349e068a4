package kindetest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Hop is one response of a page load followed by Browse.
type Hop struct {
	URL      *url.URL
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// Browse loads rawURL with GET the way a browser follows a sign-in: it
// follows redirects while they stay on one of origins (typically the app's
// and the emulator's, "http://127.0.0.1:8080"), and stops at the first
// answer that is not a redirect or at a redirect that leaves them, whose
// target it returns as offsite. client must not follow redirects itself
// (CheckRedirect returning http.ErrUseLastResponse) and should carry a jar
// such as NewCookieJar. header is sent with every request.
func Browse(client *http.Client, rawURL string, header http.Header, origins ...string) (hops []Hop, offsite string, err error) {
	current, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	for range 20 {
		req, err := http.NewRequest(http.MethodGet, current.String(), nil)
		if err != nil {
			return hops, "", err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return hops, "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return hops, "", err
		}
		loc := resp.Header.Get("Location")
		hops = append(hops, Hop{URL: current, Status: resp.StatusCode, Location: loc, Header: resp.Header, Body: string(body)})
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return hops, "", nil
		}
		next, err := current.Parse(loc)
		if err != nil {
			return hops, "", fmt.Errorf("%s redirected to an unparsable Location %q: %w", current, loc, err)
		}
		onSite := false
		for _, o := range origins {
			if next.Scheme+"://"+next.Host == o {
				onSite = true
			}
		}
		if !onSite {
			return hops, next.String(), nil
		}
		current = next
	}
	return hops, "", fmt.Errorf("too many redirects loading %s", rawURL)
}
