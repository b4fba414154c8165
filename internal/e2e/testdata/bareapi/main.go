// Command bareapi is the benchmarks' baseline: a bare pgx + net/http server
// that answers the same queries nova-api answers (the services list, the
// servers list, and the servers detail filtered by name) with no framework around them. It also serves
// /healthcheck, so the start-up benchmark can time a minimal Go service.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	dbURL := flag.String("db", "", "postgres URL; empty serves only /healthcheck")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "OK") })
	if *dbURL != "" {
		// The same pool size as nova-api's in the benchmark ([database] max_pool_size = 16).
		cfg, err := pgxpool.ParseConfig(*dbURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cfg.MaxConns = 16
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pool.Close()
		mux.HandleFunc("GET /services", func(w http.ResponseWriter, r *http.Request) {
			// The same columns and order as pgstore's List (which reads now() in the same batch).
			rows, err := pool.Query(r.Context(), `SELECT id, uuid::text, host, "binary", coalesce(topic, ''), report_count, disabled,
				coalesce(disabled_reason, ''), last_seen_up, forced_down, version, created_at, updated_at, deleted_at, deleted, now()
				FROM services WHERE deleted = 0 ORDER BY id`)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer rows.Close()
			type svc struct {
				ID             string     `json:"id"`
				Binary         string     `json:"binary"`
				Host           string     `json:"host"`
				Status         string     `json:"status"`
				State          string     `json:"state"`
				DisabledReason *string    `json:"disabled_reason"`
				ForcedDown     bool       `json:"forced_down"`
				UpdatedAt      *time.Time `json:"updated_at"`
			}
			var out []svc
			for rows.Next() {
				var id, reports, deleted int64
				var s svc
				var disabled bool
				var topic, reason string
				var version int
				var seen, deletedAt *time.Time
				var created, now time.Time
				if err := rows.Scan(&id, &s.ID, &s.Host, &s.Binary, &topic, &reports, &disabled, &reason, &seen, &s.ForcedDown,
					&version, &created, &s.UpdatedAt, &deletedAt, &deleted, &now); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				s.Status = "enabled"
				if disabled {
					s.Status = "disabled"
				}
				last := created
				if seen != nil {
					last = *seen
				}
				s.State = "down"
				if !s.ForcedDown && now.Sub(last) <= 60*time.Second {
					s.State = "up"
				}
				if reason != "" {
					s.DisabledReason = &reason
				}
				out = append(out, s)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"services": out})
		})
		mux.HandleFunc("GET /servers", func(w http.ResponseWriter, r *http.Request) {
			// The same columns and order as computedb's ListInstances.
			rows, err := pool.Query(r.Context(), `SELECT id, uuid::text, display_name, user_id, project_id, coalesce(host, ''), coalesce(node, ''),
				vm_state, coalesce(task_state, ''), power_state, flavor_id, vcpus, memory_mb, root_gb, image_ref,
				launched_at, terminated_at, created_at, updated_at, metadata, fault_code, fault_message, fault_created_at
				FROM instances WHERE deleted = 0 AND project_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1000`, "p1")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer rows.Close()
			type link struct{ Href, Rel string }
			type srv struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Links []link `json:"links"`
			}
			var out []srv
			for rows.Next() {
				var s srv
				var id int64
				var user, project, host, node, vmState, taskState, flavor, image string
				var power, vcpus int
				var mem, root int64
				var launched, terminated, updated, faultCreated *time.Time
				var created time.Time
				var metadata map[string]string
				var faultCode *int
				var faultMessage *string
				if err := rows.Scan(&id, &s.ID, &s.Name, &user, &project, &host, &node, &vmState, &taskState, &power, &flavor,
					&vcpus, &mem, &root, &image, &launched, &terminated, &created, &updated, &metadata, &faultCode, &faultMessage, &faultCreated); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				s.Links = []link{{Href: "http://" + r.Host + "/v2.1/servers/" + s.ID, Rel: "self"}, {Href: "http://" + r.Host + "/servers/" + s.ID, Rel: "bookmark"}}
				out = append(out, s)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"servers": out})
		})
		mux.HandleFunc("GET /servers/detail", func(w http.ResponseWriter, r *http.Request) {
			// The query computedb's ListInstances runs for a non-admin
			// GET /servers/detail?name=<regex>: the project, live rows, not
			// soft-deleted, display_name ~ the pattern, newest first, one page.
			rows, err := pool.Query(r.Context(), `SELECT id, uuid::text, display_name, user_id, project_id, coalesce(host, ''), coalesce(node, ''),
				vm_state, coalesce(task_state, ''), power_state, flavor_id, vcpus, memory_mb, root_gb, image_ref,
				launched_at, terminated_at, created_at, updated_at, metadata, fault_code, fault_message, fault_created_at
				FROM instances WHERE deleted = 0 AND vm_state <> 'soft-delete' AND project_id = $1 AND display_name ~ $2
				ORDER BY created_at DESC, id DESC LIMIT 1000`, "p1", r.URL.Query().Get("name"))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer rows.Close()
			type link struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			}
			var out []map[string]any
			base := "http://" + r.Host
			for rows.Next() {
				var id int64
				var uuid, name, user, project, host, node, vmState, taskState, flavor, image string
				var power, vcpus int
				var mem, root int64
				var launched, terminated, updated, faultCreated *time.Time
				var created time.Time
				var metadata map[string]string
				var faultCode *int
				var faultMessage *string
				if err := rows.Scan(&id, &uuid, &name, &user, &project, &host, &node, &vmState, &taskState, &power, &flavor,
					&vcpus, &mem, &root, &image, &launched, &terminated, &created, &updated, &metadata, &faultCode, &faultMessage, &faultCreated); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				sum := sha256.Sum224([]byte(project + host))
				up := created
				if updated != nil {
					up = *updated
				}
				out = append(out, map[string]any{
					"id": uuid, "name": name, "status": strings.ToUpper(vmState), "tenant_id": project, "user_id": user,
					"metadata": metadata, "hostId": hex.EncodeToString(sum[:]),
					"image":   map[string]any{"id": image, "links": []link{{base + "/images/" + image, "bookmark"}}},
					"flavor":  map[string]any{"id": flavor, "links": []link{{base + "/flavors/" + flavor, "bookmark"}}},
					"created": created.UTC().Format("2006-01-02T15:04:05Z"), "updated": up.UTC().Format("2006-01-02T15:04:05Z"),
					"addresses": map[string]any{}, "accessIPv4": "", "accessIPv6": "",
					"links":             []link{{base + "/v2.1/servers/" + uuid, "self"}, {base + "/servers/" + uuid, "bookmark"}},
					"OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova", "config_drive": "", "key_name": nil,
					"security_groups":       []map[string]string{{"name": "default"}},
					"OS-EXT-STS:task_state": nil, "OS-EXT-STS:vm_state": vmState, "OS-EXT-STS:power_state": power,
					"os-extended-volumes:volumes_attached": []any{}, "OS-SRV-USG:launched_at": launched, "OS-SRV-USG:terminated_at": terminated,
					"progress": 0, "locked": false, "description": nil, "tags": []string{},
				})
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"servers": out})
		})
	}
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
