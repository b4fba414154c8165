package amqpdriver

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	u, err := ParseURL("rabbit://nova:s%40cret@h1:5673,other:pw@h2/nova?ssl=1")
	if err != nil {
		t.Fatal(err)
	}
	want := URL{Hosts: []Host{{Host: "h1", Port: 5673, User: "nova", Password: "s@cret", PortGiven: true}, {Host: "h2", Port: 5671, User: "other", Password: "pw"}}, Vhost: "nova", TLS: true}
	if !reflect.DeepEqual(u, want) {
		t.Fatalf("got %+v\nwant %+v", u, want)
	}
	u, err = ParseURL("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil || u.Vhost != "/" || u.TLS || u.Hosts[0].Port != 5672 {
		t.Fatalf("%+v %v", u, err)
	}
	u, err = ParseURL("amqps://[::1]:5000/%2Fv")
	if err != nil || u.Hosts[0].Host != "::1" || u.Hosts[0].Port != 5000 || u.Vhost != "/v" || !u.TLS || u.Hosts[0].User != "guest" {
		t.Fatalf("%+v %v", u, err)
	}
	for in, want := range map[string]string{
		"kafka://h":            "scheme",
		"rabbit://":            "no host",
		"rabbit://u:p@h:x/":    "port",
		"rabbit://h?ssl=maybe": "ssl",
		"h1:5672":              "scheme://",
	} {
		if _, err := ParseURL(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error about %q", in, err, want)
		}
	}
}
