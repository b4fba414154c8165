package nova

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/image"
	"github.com/gonova/gonova/pkg/app"
)

// Which image service nova-api checks imageRef against, from nova.conf: the
// [glance] servers, the callers' catalogs under Keystone, or none (any
// image id accepted, said once in the log).
func TestImageServiceFromConfig(t *testing.T) {
	for _, tc := range []struct {
		conf    string
		want    bool // an image service
		wantLog string
	}{
		{"[api]\nauth_strategy = noauth2\n", false, "no image service: [glance] api_servers is unset"},
		{"[api]\nauth_strategy = noauth2\n[glance]\napi_servers = http://127.0.0.1:9292, http://127.0.0.2:9292/v2\n", true, "api_servers"},
		{"[api]\nauth_strategy = noauth2\n[glance]\nendpoint_override = https://glance.example:9292\n", true, "endpoint_override"},
		{"[api]\nauth_strategy = keystone\n[glance]\nregion_name = RegionTwo\n", true, "from the caller's Keystone catalog"},
	} {
		n := Wrap(runtime(t, tc.conf))
		var buf bytes.Buffer
		n.Log = slog.New(slog.NewTextHandler(&buf, nil))
		svc, err := n.imageService()
		if err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		if (svc != nil) != tc.want || !strings.Contains(buf.String(), tc.wantLog) {
			t.Errorf("%q: image service %T, log %q; want one: %v, a log saying %q", tc.conf, svc, buf.String(), tc.want, tc.wantLog)
		}
		if tc.want {
			if _, ok := svc.(*image.Client); !ok {
				t.Errorf("%q: %T, want Glance's client", tc.conf, svc)
			}
		}
	}
	for _, bad := range []string{
		"[glance]\napi_servers = glance:9292\n",
		"[glance]\nendpoint_override = ftp://g/\n",
		"[glance]\nvalid_interfaces = private\n",
	} {
		_, err := Wrap(runtime(t, "[api]\nauth_strategy = noauth2\n"+bad)).imageService()
		if err == nil || app.ExitCode(err) != app.ExitConfig || !strings.Contains(err.Error(), "[glance]") {
			t.Errorf("%q: %v, want a configuration error naming [glance]", bad, err)
		}
	}
}
