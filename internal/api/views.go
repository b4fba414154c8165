package api

import (
	"net/http"
)

// link is a nova resource link.
type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
}

// baseURL is the scheme and host a request reached us by, as nova builds its
// links (honouring X-Forwarded-Proto from a TLS-terminating proxy).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// versionDoc describes API v2.1 as nova's version documents do.
type versionDoc struct {
	ID         string      `json:"id"`
	Links      []link      `json:"links"`
	MediaTypes []mediaType `json:"media-types,omitempty"`
	Status     string      `json:"status"`
	Version    string      `json:"version"`
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

func v21Doc(base, minV, maxV string, detailed bool) versionDoc {
	d := versionDoc{
		ID:         "v2.1",
		Links:      []link{{Href: base + "/v2.1/", Rel: "self"}},
		Status:     "CURRENT",
		Version:    maxV,
		MinVersion: minV,
		Updated:    "2013-07-23T11:33:21Z",
	}
	if detailed {
		d.Links = append(d.Links, link{Href: "http://docs.openstack.org/", Rel: "describedby", Type: "text/html"})
		d.MediaTypes = []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}}
	}
	return d
}

// v20Doc describes the legacy v2 compatible API (/v2/) as nova's v2.0
// entry does: SUPPORTED, with no microversions.
func v20Doc(base string, detailed bool) versionDoc {
	d := versionDoc{
		ID:      "v2.0",
		Links:   []link{{Href: base + "/v2/", Rel: "self"}},
		Status:  "SUPPORTED",
		Updated: "2011-01-21T11:33:21Z",
	}
	if detailed {
		d.Links = append(d.Links, link{Href: "http://docs.openstack.org/", Rel: "describedby", Type: "text/html"})
		d.MediaTypes = []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2"}}
	}
	return d
}

// novaTime formats a time as nova's os-services and servers show updated_at
// without a zone: 2012-10-29T13:42:02.000000.
const novaTimeLayout = "2006-01-02T15:04:05.000000"

// isoTime is the form servers use for created/updated: 2017-02-14T19:23:58Z.
const isoTimeLayout = "2006-01-02T15:04:05Z"
