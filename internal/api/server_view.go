package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// progressStatuses are the statuses nova shows "progress" for.
var progressStatuses = map[states.Status]bool{states.StatusActive: true, states.StatusBuild: true,
	states.StatusRebuild: true, states.StatusResize: true, states.StatusVerifyResize: true, states.StatusMigrating: true}

// hostID is nova's generate_hostid: sha224 of project id + host, "" when
// the instance has no host.
func hostID(host, project string) string {
	if host == "" {
		return ""
	}
	sum := sha256.Sum224([]byte(project + host))
	return hex.EncodeToString(sum[:])
}

func serverLinks(base, id string) []link {
	return []link{
		{Href: base + "/v2.1/servers/" + id, Rel: "self"},
		{Href: base + "/servers/" + id, Rel: "bookmark"},
	}
}

// serverBrief is a server as GET /servers lists it.
type serverBrief struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Links []link `json:"links"`
}

func nullTime(t *time.Time, layout string) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(layout)
}

func nullString[S ~string](s S) any {
	if s == "" {
		return nil
	}
	return s
}

// viewContext is what a detailed server view depends on besides the row.
type viewContext struct {
	base    string
	version microversion.Version
	// extendedAttrs shows OS-EXT-SRV-ATTR (os-extended-server-attributes).
	extendedAttrs bool
	// hostStatusShown is what host_status shows (from 2.16), of hostStatus.
	hostStatusShown hostStatusPolicy
	hostStatus      computeapi.HostStatuses
	// zones gives OS-EXT-AZ:availability_zone: the host's zone.
	zones zoneMap
	// rebuild: the view answers a rebuild, which nova shows without
	// user_data.
	rebuild bool
	// flavorExtraSpecs shows the flavor's extra specs (2.47,
	// servers:show:flavor-extra-specs).
	flavorExtraSpecs bool
}

// extendedAttrs23 adds the extended attributes of 2.3 (nova's
// OS-EXT-SRV-ATTR:reservation_id, launch_index, hostname, kernel_id,
// ramdisk_id, root_device_name and, but in a rebuild's answer, user_data).
// gonova boots whole-disk images from one block device: kernel_id and
// ramdisk_id are "" as nova's for such images, root_device_name is
// /dev/vda once the compute has built the server (nova's default device
// name) and null before; user_data is nova's for a create without user data.
func extendedAttrs23(m map[string]any, in computedb.Instance, userData bool) {
	m["OS-EXT-SRV-ATTR:reservation_id"] = nullString(in.ReservationID)
	m["OS-EXT-SRV-ATTR:launch_index"] = in.LaunchIndex
	m["OS-EXT-SRV-ATTR:hostname"] = in.Hostname
	m["OS-EXT-SRV-ATTR:kernel_id"] = ""
	m["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
	m["OS-EXT-SRV-ATTR:root_device_name"] = nil
	if in.LaunchedAt != nil {
		m["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
	}
	if userData {
		m["OS-EXT-SRV-ATTR:user_data"] = nil
	}
}

// metadataView is never null: nova shows {} for a server without metadata.
func metadataView(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// serverDetail builds a server as GET /servers/{id} and /servers/detail show
// it, with the fields gonova keeps.
func serverDetail(vc viewContext, in computedb.Instance) map[string]any {
	status := states.ServerStatus(in.VMState, in.TaskState)
	updated := in.CreatedAt
	if in.UpdatedAt != nil {
		updated = *in.UpdatedAt
	}
	m := map[string]any{
		"id":        in.UUID,
		"name":      in.DisplayName,
		"status":    status,
		"tenant_id": in.ProjectID,
		"user_id":   in.UserID,
		"metadata":  metadataView(in.Metadata),
		"hostId":    hostID(in.Host, in.ProjectID),
		"image": map[string]any{"id": in.ImageRef, "links": []link{
			{Href: vc.base + "/images/" + in.ImageRef, Rel: "bookmark"}}},
		"created":                              in.CreatedAt.UTC().Format(isoTimeLayout),
		"updated":                              updated.UTC().Format(isoTimeLayout),
		"addresses":                            map[string]any{},
		"accessIPv4":                           "",
		"accessIPv6":                           "",
		"links":                                serverLinks(vc.base, in.UUID),
		"OS-DCF:diskConfig":                    "MANUAL",
		"OS-EXT-AZ:availability_zone":          "",
		"config_drive":                         "",
		"key_name":                             nullString(in.KeyName),
		"security_groups":                      []map[string]string{{"name": "default"}},
		"OS-EXT-STS:task_state":                nullString(in.TaskState),
		"OS-EXT-STS:vm_state":                  in.VMState,
		"OS-EXT-STS:power_state":               in.PowerState,
		"os-extended-volumes:volumes_attached": []any{},
		"OS-SRV-USG:launched_at":               nullTime(in.LaunchedAt, novaTimeLayout),
		"OS-SRV-USG:terminated_at":             nullTime(in.TerminatedAt, novaTimeLayout),
	}
	m["OS-EXT-AZ:availability_zone"] = vc.zones.instance(in)
	// nova shows the fault of a server in ERROR (or DELETED) state.
	if in.Fault != nil && (status == states.StatusError || status == states.StatusDeleted) {
		m["fault"] = map[string]any{"code": in.Fault.Code, "message": in.Fault.Message,
			"created": in.Fault.Created.UTC().Format(isoTimeLayout)}
	}
	if progressStatuses[status] {
		m["progress"] = 0
	}
	if vc.version.AtLeast(2, 47) {
		f := in.Flavor
		flavor := map[string]any{"vcpus": in.VCPUs, "ram": in.MemoryMB, "disk": in.RootGB,
			"ephemeral": f.EphemeralGB, "swap": f.Swap, "original_name": f.Name}
		if vc.flavorExtraSpecs {
			specs := f.ExtraSpecs
			if specs == nil {
				specs = map[string]string{}
			}
			flavor["extra_specs"] = specs
		}
		m["flavor"] = flavor
	} else {
		m["flavor"] = map[string]any{"id": in.FlavorID, "links": []link{
			{Href: vc.base + "/flavors/" + in.FlavorID, Rel: "bookmark"}}}
	}
	if vc.extendedAttrs {
		m["OS-EXT-SRV-ATTR:host"] = nullString(in.Host)
		m["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nullString(in.Node)
		m["OS-EXT-SRV-ATTR:instance_name"] = fmt.Sprintf("instance-%08x", in.ID)
		if vc.version.AtLeast(2, 3) {
			extendedAttrs23(m, in, !vc.rebuild)
		}
	}
	if vc.version.AtLeast(2, 90) && !vc.extendedAttrs {
		m["OS-EXT-SRV-ATTR:hostname"] = in.Hostname // 2.90: for everyone
	}
	if vc.version.AtLeast(2, 63) {
		m["trusted_image_certificates"] = nil // gonova keeps no trusted certificates
	}
	if vc.version.AtLeast(2, 9) {
		m["locked"] = in.Locked
	}
	if vc.version.AtLeast(2, 73) {
		m["locked_reason"] = nullString(in.LockedReason)
	}
	if vc.version.AtLeast(2, 16) {
		switch st := vc.hostStatus.Of(in); vc.hostStatusShown {
		case hostStatusAll:
			m["host_status"] = st
		case hostStatusUnknownOnly:
			if st == computeapi.HostUnknown {
				m["host_status"] = st
			}
		}
	}
	if vc.version.AtLeast(2, 19) {
		m["description"] = nullString(in.Description)
	}
	if vc.version.AtLeast(2, 26) {
		m["tags"] = tagsView(in.Tags)
	}
	laterServerFields(vc, in, m)
	return m
}

// createdView is the 202 body of POST /servers.
func createdView(r *http.Request, in computedb.Instance, adminPass, diskConfig string) map[string]any {
	return map[string]any{"server": map[string]any{
		"id":                in.UUID,
		"links":             serverLinks(baseURL(r), in.UUID),
		"adminPass":         adminPass,
		"OS-DCF:diskConfig": diskConfig,
		"security_groups":   []map[string]string{{"name": "default"}},
	}}
}
