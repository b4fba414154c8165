package config

import (
	"crypto/tls"
	"os"
	"runtime"
	"time"

	"github.com/gonova/gonova/pkg/internal/amqpurl"
)

// Config is the whole typed configuration of a gonova process. Field comments
// give the nova.conf section and option name.
type Config struct {
	Default    DefaultOptions
	Database   DatabaseOptions
	API        APIOptions
	Rabbit     RabbitOptions
	Middleware MiddlewareOptions
	Policy     PolicyOptions
	// Notifications is [oslo_messaging_notifications].
	Notifications NotificationsOptions
	// NovaNotifications is nova's [notifications].
	NovaNotifications NovaNotificationsOptions
	Gonova            GonovaOptions
	// KeystoneAuthtoken is [keystone_authtoken], read by the Keystone
	// token validator (pkg/wsgi/auth/keystone) when auth_strategy = keystone.
	KeystoneAuthtoken KeystoneAuthtokenOptions
	// Glance is [glance]: where nova-api checks the imageRef of a create.
	Glance GlanceOptions

	UpgradeLevels UpgradeLevelsOptions
	Workarounds   WorkaroundsOptions
	// Quota is nova's [quota]: the default limits.
	Quota QuotaOptions

	// Sources lists, in the order they were read, the files that contributed.
	Sources []string
	// Ignored lists sections and options that belong to other parts of nova and
	// that gonova accepted without using ("[keystone_authtoken]", "[DEFAULT] my_ip").
	Ignored []string

	args []string // command line this Config was parsed from, for Reload
	env  func(string) string
}

// DefaultOptions are the options of the [DEFAULT] section.
type DefaultOptions struct {
	Host                     string        // host: this service's host name (default: the machine's hostname)
	ReportInterval           time.Duration // report_interval: heartbeat period, seconds
	ServiceDownTime          time.Duration // service_down_time: a service is down when its last heartbeat is older
	PeriodicEnable           bool          // periodic_enable: run periodic tasks
	PeriodicFuzzyDelay       time.Duration // periodic_fuzzy_delay: first periodic run after randint(0, this)
	PeriodicIntervalMax      time.Duration // periodic_interval_max: longest idle between periodic checks
	GracefulShutdownTimeout  time.Duration // graceful_shutdown_timeout: hard exit this long after SIGTERM; 0 waits forever
	EnableNewServices        bool          // enable_new_services: new nova-compute rows start enabled
	RunExternalPeriodicTasks bool          // run_external_periodic_tasks: run tasks marked external_process_ok
	BackdoorPort             string        // backdoor_port: "", a port, 0, or start:end
	TransportURL             string        // transport_url: rabbit://user:pass@host:port[,...]/vhost or memory://
	ControlExchange          string        // control_exchange: the RPC topic exchange
	RPCResponseTimeout       time.Duration // rpc_response_timeout: call timeout
	ExecutorThreadPoolSize   int           // executor_thread_pool_size: concurrent handlers per RPC server
	OsapiComputeListen       string        // osapi_compute_listen: API listen address
	OsapiComputeListenPort   int           // osapi_compute_listen_port: API listen port
	OsapiComputeWorkers      int           // osapi_compute_workers: API worker processes
	Debug                    bool          // debug: log at debug level (mutable on SIGHUP)
	UseJSON                  bool          // use_json: log as JSON instead of text
	UpdateResourcesInterval  time.Duration // update_resources_interval: update_available_resource spacing; 0 = default (60 s)
	SyncPowerStateInterval   time.Duration // sync_power_state_interval: _sync_power_states spacing; negative disables

	// Resource claims (nova-compute writes them into its compute_nodes row;
	// the scheduler's claims are checked against them).
	CPUAllocationRatio         float64       // cpu_allocation_ratio: 0 (nova's None) keeps the node's ratio
	RAMAllocationRatio         float64       // ram_allocation_ratio: 0 keeps the node's ratio
	DiskAllocationRatio        float64       // disk_allocation_ratio: 0 keeps the node's ratio
	InitialCPUAllocationRatio  float64       // initial_cpu_allocation_ratio: a new node's ratio when cpu_allocation_ratio is unset
	InitialRAMAllocationRatio  float64       // initial_ram_allocation_ratio
	InitialDiskAllocationRatio float64       // initial_disk_allocation_ratio
	ReservedHostMemoryMB       int64         // reserved_host_memory_mb: memory kept for the host
	ReservedHostDiskMB         int64         // reserved_host_disk_mb: disk kept for the host
	ReservedHostCPUs           int           // reserved_host_cpus: CPUs kept for the host
	InstanceBuildTimeout       time.Duration // instance_build_timeout: building longer than this on a host is an error; 0 disables

	MyIP string // my_ip: this host's address, the compute's host_ip; empty detects it

	// Availability zones, nova's [DEFAULT] options of the same names.
	DefaultAvailabilityZone         string // default_availability_zone: the zone of a compute host in no zone aggregate
	InternalServiceAvailabilityZone string // internal_service_availability_zone: the zone of the non-compute services

	AllowResizeToSameHost bool          // allow_resize_to_same_host: a resize may choose the instance's own host
	ResizeConfirmWindow   time.Duration // resize_confirm_window: VERIFY_RESIZE this long is confirmed automatically; 0 disables
}

// DatabaseOptions are the options of the [database] section.
type DatabaseOptions struct {
	Connection  string // connection: postgresql://user:pass@host/db, or empty/memory:// for the in-memory store
	MaxPoolSize int    // max_pool_size: most connections to keep open
}

// APIOptions are the options of the [api] section.
type APIOptions struct {
	AuthStrategy string // auth_strategy: keystone or noauth2
}

// RabbitOptions are the options of the [oslo_messaging_rabbit] section. Queue
// declarations must match what other services on the broker declared.
type RabbitOptions struct {
	AmqpDurableQueues              bool          // amqp_durable_queues
	AmqpAutoDelete                 bool          // amqp_auto_delete
	RabbitQuorumQueue              bool          // rabbit_quorum_queue
	RabbitQosPrefetchCount         int           // rabbit_qos_prefetch_count: 0 means executor_thread_pool_size
	HeartbeatTimeoutThreshold      time.Duration // heartbeat_timeout_threshold: AMQP heartbeat timeout
	HeartbeatRate                  int           // heartbeat_rate: checks per heartbeat_timeout_threshold
	KombuFailoverStrategy          string        // kombu_failover_strategy: round-robin or shuffle
	KombuReconnectDelay            time.Duration // kombu_reconnect_delay: wait before reconnecting / re-subscribing
	KombuReconnectSplay            time.Duration // kombu_reconnect_splay: random extra wait
	RabbitRetryInterval            time.Duration // rabbit_retry_interval: first wait after a round of failed reconnects
	RabbitRetryBackoff             time.Duration // rabbit_retry_backoff: added to that wait per round
	RabbitIntervalMax              time.Duration // rabbit_interval_max: most of that wait
	EnableCancelOnFailover         bool          // enable_cancel_on_failover: consume with x-cancel-on-ha-failover
	RabbitTransientQueuesTTL       time.Duration // rabbit_transient_queues_ttl: x-expires of reply and fanout queues
	RabbitTransientQuorumQueue     bool          // rabbit_transient_quorum_queue: reply and fanout queues quorum too
	RabbitQuorumDeliveryLimit      int           // rabbit_quorum_delivery_limit: x-delivery-limit; 0 none
	RabbitQuorumMaxMemoryLength    int           // rabbit_quorum_max_memory_length: x-max-in-memory-length; 0 none
	RabbitQuorumMaxMemoryBytes     int           // rabbit_quorum_max_memory_bytes: x-max-in-memory-bytes; 0 none
	RabbitHAQueues                 bool          // rabbit_ha_queues: x-ha-policy all
	RabbitStreamFanout             bool          // rabbit_stream_fanout: one <topic>_fanout stream per topic
	UseQueueManager                bool          // use_queue_manager: stable reply and fanout queue names
	Hostname                       string        // hostname: of the queue manager's names (default: the machine's)
	Processname                    string        // processname: of the queue manager's names (default: argv[0]'s base)
	SSL                            bool          // ssl: connect with TLS
	SSLCAFile                      string        // ssl_ca_file: PEM CAs the broker's certificate must chain to
	SSLCertFile                    string        // ssl_cert_file: PEM client certificate
	SSLKeyFile                     string        // ssl_key_file: PEM client key
	SSLEnforceHostnameVerification bool          // ssl_enforce_hostname_verification
	SSLVersion                     string        // ssl_version
}

// NotificationsOptions are the options of the [oslo_messaging_notifications]
// section (pkg/notify sends with them).
type NotificationsOptions struct {
	Driver       []string // driver (multi-valued): messagingv2, messaging, log, noop; none sends nothing
	TransportURL string   // transport_url: empty means [DEFAULT] transport_url
	Topics       []string // topics: default notifications
	Retry        int      // retry: -1 retries until sent, 0 tries once
}

// NovaNotificationsOptions are nova's [notifications] options: which of
// nova's notifications are sent, and where the versioned ones go.
type NovaNotificationsOptions struct {
	NotifyOnStateChange          string   // notify_on_state_change: "", vm_state or vm_and_task_state
	DefaultLevel                 string   // default_level: DEBUG, INFO, WARN, ERROR, CRITICAL
	NotificationFormat           string   // notification_format: unversioned (nova's default), versioned or both
	VersionedNotificationsTopics []string // versioned_notifications_topics: default versioned_notifications
	BdmsInNotifications          bool     // bdms_in_notifications
}

// Versioned reports whether notification_format sends nova's versioned
// notifications (versioned or both).
func (n NovaNotificationsOptions) Versioned() bool {
	return n.NotificationFormat == "versioned" || n.NotificationFormat == "both"
}

// Unversioned reports whether notification_format sends nova's legacy
// unversioned notifications (unversioned or both).
func (n NovaNotificationsOptions) Unversioned() bool {
	return n.NotificationFormat == "unversioned" || n.NotificationFormat == "both"
}

// NotificationTransportURL is [oslo_messaging_notifications] transport_url,
// or [DEFAULT] transport_url when that is unset, as oslo falls back.
func (c *Config) NotificationTransportURL() string {
	if c.Notifications.TransportURL != "" {
		return c.Notifications.TransportURL
	}
	return c.Default.TransportURL
}

// MiddlewareOptions are the options of the [oslo_middleware] section.
type MiddlewareOptions struct {
	MaxRequestBodySize int64 // max_request_body_size: bytes
}

// PolicyOptions are the options of the [oslo_policy] section.
type PolicyOptions struct {
	PolicyFile         string // policy_file: YAML or JSON rule overrides, relative to ConfigDirs
	EnforceScope       bool   // enforce_scope: refuse tokens whose scope the rule does not allow
	EnforceNewDefaults bool   // enforce_new_defaults: drop the deprecated defaults
	PolicyDirs         string // policy_dirs: one directory of further overrides ("" for none)
	PolicyDefaultRule  string // policy_default_rule: fallback of references to undefined rules
}

// UpgradeLevelsOptions are the options of the [upgrade_levels] section that
// gonova reads; nova's others (cert, scheduler, conductor, baseapi) are
// accepted and ignored.
type UpgradeLevelsOptions struct {
	Compute string // compute: compute RPC version cap: "", a version, a release name, or "auto"
}

// WorkaroundsOptions are the options of the [workarounds] section that
// gonova reads; nova's others are accepted and ignored.
type WorkaroundsOptions struct {
	DisableComputeServiceCheckForFFU bool // disable_compute_service_check_for_ffu: too old computes warn instead of refusing the start
}

// QuotaOptions are nova's [quota] options: the default quota of every
// project (and user) that os-quota-sets has not set; -1 is unlimited.
type QuotaOptions struct {
	Instances                int    // instances
	Cores                    int    // cores
	RAM                      int    // ram: MB
	MetadataItems            int    // metadata_items: per server
	InjectedFiles            int    // injected_files
	InjectedFileContentBytes int    // injected_file_content_bytes
	InjectedFilePathLength   int    // injected_file_path_length: the injected_file_path_bytes quota
	KeyPairs                 int    // key_pairs: per user
	ServerGroups             int    // server_groups
	ServerGroupMembers       int    // server_group_members: per group
	Driver                   string // driver: nova.quota.DbQuotaDriver only
	RecheckQuota             bool   // recheck_quota: accepted; gonova's check is atomic
}

// GonovaOptions are gonova's own options, in the [gonova] section.
type GonovaOptions struct {
	MetricsListen          string        // metrics_listen: address of nova-compute's /metrics and /healthcheck listener; empty disables
	APIMetricsListen       string        // api_metrics_listen: address of nova-api's /metrics and detailed /healthcheck listener; empty disables
	ManagerShutdownTimeout time.Duration // manager_shutdown_timeout: how long a manager may finish in-flight work at stop
	FakeDriverVCPUs        int           // fake_driver_vcpus: the fake hypervisor's vcpus; 0 = the fake's default
	FakeDriverMemoryMB     int           // fake_driver_memory_mb: the fake hypervisor's memory; 0 = the fake's default
	FakeDriverLocalGB      int           // fake_driver_local_gb: the fake hypervisor's disk; 0 = the fake's default
	RPCUnavailableTimeout  time.Duration // rpc_unavailable_timeout: how long a cast or call waits for the broker; 0 = rpc_response_timeout
	RPCUnroutableTimeout   time.Duration // rpc_unroutable_timeout: how long a returned (unroutable) cast or call is retried; 0 = not
	BuildRequestTimeout    time.Duration // build_request_timeout: nova-api fails instances still scheduling after this; 0 disables
	DefaultFlavors         bool          // default_flavors: nova-api creates the missing m1.* flavors at start
}

// KeystoneAuthtokenOptions are keystonemiddleware's [keystone_authtoken]
// options that gonova's token validator reads; the section's other options
// are accepted and listed in Config.Ignored.
type KeystoneAuthtokenOptions struct {
	WWWAuthenticateURI        string   // www_authenticate_uri: where 401 answers send clients (default: auth_url)
	AuthURL                   string   // auth_url: identity endpoint the service authenticates against
	AuthType                  string   // auth_type: password
	Username                  string   // username: the service user
	Password                  string   // password: the service user's password (secret)
	ProjectName               string   // project_name: the service's project
	UserDomainName            string   // user_domain_name
	UserDomainID              string   // user_domain_id
	ProjectDomainName         string   // project_domain_name
	ProjectDomainID           string   // project_domain_id
	RegionName                string   // region_name: region of the catalog's identity endpoint
	Interface                 string   // interface: public, internal or admin
	Cafile                    string   // cafile: CA bundle for Keystone's TLS certificate
	Insecure                  bool     // insecure: skip TLS verification
	TokenCacheTime            int      // token_cache_time: seconds; <= 0 disables caching
	MemcachedServers          []string // memcached_servers: host:port list
	ServiceTokenRoles         []string // service_token_roles
	ServiceTokenRolesRequired bool     // service_token_roles_required
	DelayAuthDecision         bool     // delay_auth_decision
	IncludeServiceCatalog     bool     // include_service_catalog
}

// Defaults returns the configuration with every option at its default.
func Defaults() *Config {
	c := &Config{}
	for _, o := range options {
		if err := o.set(c, o.def); err != nil {
			panic("config: default of " + o.key() + ": " + err.Error())
		}
	}
	if c.Default.Host == "" {
		c.Default.Host = hostname()
	}
	if c.Default.OsapiComputeWorkers == 0 {
		c.Default.OsapiComputeWorkers = runtime.NumCPU()
	}
	return c
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// RabbitTLS is the TLS client configuration of [oslo_messaging_rabbit]'s
// ssl options (ssl, ssl_ca_file, ssl_cert_file, ssl_key_file,
// ssl_enforce_hostname_verification, ssl_version), or nil when ssl is false
// (a transport_url with amqps:// or ?ssl=1 then uses TLS with the system's
// roots). It reads the files each time; Parse checks them once, so a file
// that cannot be read or parsed stops the start.
func (c *Config) RabbitTLS() (*tls.Config, error) {
	return amqpurl.TLSOptions{
		SSL:                         c.Rabbit.SSL,
		CAFile:                      c.Rabbit.SSLCAFile,
		CertFile:                    c.Rabbit.SSLCertFile,
		KeyFile:                     c.Rabbit.SSLKeyFile,
		EnforceHostnameVerification: c.Rabbit.SSLEnforceHostnameVerification,
		Version:                     c.Rabbit.SSLVersion,
	}.Config()
}

// GlanceOptions are nova's [glance] options that gonova reads: the image
// service nova-api asks about the imageRef of a create or rebuild. With
// neither APIServers nor EndpointOverride, the image endpoint comes from the
// caller's Keystone catalog (auth_strategy = keystone), as keystoneauth finds
// it for nova; under noauth2 there is then no image service, and any image
// id is accepted.
type GlanceOptions struct {
	APIServers       []string // api_servers: Glance URLs (deprecated in nova, still read), tried in a shuffled cycle
	NumRetries       int      // num_retries: further tries on another server when one cannot be reached
	EndpointOverride string   // endpoint_override: one Glance URL, instead of the catalog's
	RegionName       string   // region_name: the catalog endpoint's region (empty: any)
	ValidInterfaces  []string // valid_interfaces: catalog interfaces, in order of preference
}
