package wsgi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

func Example() {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics, _ := middleware.NewMetrics(prometheus.NewRegistry())
	mv, _ := microversion.New(microversion.Options{})
	enf := policy.New(map[string]policy.Rule{"os_compute_api:os-services:list": policy.Admin})

	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: logger, Metrics: metrics, Microversion: mv})
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(auth.NoAuth{}))
		r.With(enf.Require("os_compute_api:os-services:list")).Get("/v2.1/os-services",
			func(w http.ResponseWriter, r *http.Request) {
				v := microversion.FromContext(r.Context())
				_, _ = fmt.Fprintf(w, `{"services": [], "uuid_ids": %t}`, v.AtLeast(2, 53))
			})
	})

	svc, _ := wsgi.New(wsgi.Options{Name: "osapi_compute", Host: "127.0.0.1", Port: -1, Handler: r, Logger: logger})
	if err := svc.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, token := range []string{"admin:admin", "alice:demo"} {
		req, _ := http.NewRequest("GET", "http://"+svc.Addr().String()+"/v2.1/os-services", nil)
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("OpenStack-API-Version", "compute latest")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("OpenStack-API-Version"), string(body))
	}
	http.DefaultClient.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = svc.Stop(ctx)
	_ = svc.Wait(context.Background())
	// Output:
	// 200 compute 2.93 {"services": [], "uuid_ids": true}
	// 403 compute 2.93 {"forbidden":{"code":403,"message":"Policy doesn't allow os_compute_api:os-services:list to be performed."}}
}
