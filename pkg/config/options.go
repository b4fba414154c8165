package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gonova/gonova/pkg/gmr"
	"github.com/gonova/gonova/pkg/internal/urlcheck"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// option is one nova.conf option: where it lives, its default, its meaning, and
// how it is stored into and read out of a Config.
type option struct {
	section string
	name    string
	def     string
	help    string
	secret  bool
	// password: a secret shown as *** (secret alone masks a URL's password)
	password bool
	set      func(c *Config, v string) error
	get      func(c *Config) string
}

func (o option) key() string { return "[" + o.section + "] " + o.name }

const (
	secDefault    = "DEFAULT"
	secDatabase   = "database"
	secAPI        = "api"
	secRabbit     = "oslo_messaging_rabbit"
	secMiddleware = "oslo_middleware"
	secPolicy     = "oslo_policy"
	secNotify     = "oslo_messaging_notifications"
	secNovaNotify = "notifications"
	secGonova     = "gonova"
	secKeystone   = "keystone_authtoken"
	secGlance     = "glance"
	secUpgrade    = "upgrade_levels"
	secWorkaround = "workarounds"
	secQuota      = "quota"
)

// options is the table that drives parsing, defaults, masking and the example
// nova.conf. Durations are whole seconds in files, as in nova.
var options = []option{
	str(secDefault, "host", "", "Name of this node; part of the service's identity. Default: the machine's hostname.", func(c *Config) *string { return &c.Default.Host }, nil),
	seconds(secDefault, "report_interval", durationSeconds(servicegroup.DefaultReportInterval), 1, "Seconds between heartbeats of a service into the services table.", func(c *Config) *time.Duration { return &c.Default.ReportInterval }),
	seconds(secDefault, "service_down_time", durationSeconds(servicegroup.DefaultServiceDownTime), 1, "A service whose last heartbeat is older than this many seconds is down. If not above report_interval, int(2.5 x report_interval) is used.", func(c *Config) *time.Duration { return &c.Default.ServiceDownTime }),
	boolean(secDefault, "periodic_enable", "true", "Run periodic tasks.", func(c *Config) *bool { return &c.Default.PeriodicEnable }),
	seconds(secDefault, "periodic_fuzzy_delay", "60", 0, "First periodic run after a random delay of up to this many seconds; 0 disables the delay.", func(c *Config) *time.Duration { return &c.Default.PeriodicFuzzyDelay }),
	seconds(secDefault, "periodic_interval_max", "60", 1, "Longest idle between two checks for due periodic tasks, seconds.", func(c *Config) *time.Duration { return &c.Default.PeriodicIntervalMax }),
	seconds(secDefault, "graceful_shutdown_timeout", "180", 0, "After SIGTERM, exit hard when this many seconds pass; 0 waits forever.", func(c *Config) *time.Duration { return &c.Default.GracefulShutdownTimeout }),
	boolean(secDefault, "enable_new_services", "true", "When false, a newly created nova-compute service row starts disabled.", func(c *Config) *bool { return &c.Default.EnableNewServices }),
	boolean(secDefault, "run_external_periodic_tasks", "true", "When false, periodic tasks marked external_process_ok are skipped.", func(c *Config) *bool { return &c.Default.RunExternalPeriodicTasks }),
	str(secDefault, "backdoor_port", "", "Localhost debug listener (pprof, report): a port, 0 for any, or start:end for the first free. Unset disables it.", func(c *Config) *string { return &c.Default.BackdoorPort }, validBackdoorPort),
	secretURL(secDefault, "transport_url", "", "Messaging transport: rabbit://user:pass@host:5672[,user:pass@host2:5672]/vhost, or memory:// for the in-process transport.", func(c *Config) *string { return &c.Default.TransportURL }, validTransportURL),
	str(secDefault, "control_exchange", "nova", "The topic exchange RPC messages go through.", func(c *Config) *string { return &c.Default.ControlExchange }, nonEmpty),
	seconds(secDefault, "rpc_response_timeout", "60", 1, "Seconds to wait for the reply to an RPC call.", func(c *Config) *time.Duration { return &c.Default.RPCResponseTimeout }),
	integer(secDefault, "executor_thread_pool_size", "64", 1, 100000, "Handlers an RPC server runs at once.", func(c *Config) *int { return &c.Default.ExecutorThreadPoolSize }),
	str(secDefault, "osapi_compute_listen", "0.0.0.0", "Address the compute API listens on.", func(c *Config) *string { return &c.Default.OsapiComputeListen }, validHost),
	integer(secDefault, "osapi_compute_listen_port", "8774", 0, 65535, "Port the compute API listens on.", func(c *Config) *int { return &c.Default.OsapiComputeListenPort }),
	integer(secDefault, "osapi_compute_workers", "0", 0, 1024, "API worker processes; 0 means the number of CPUs, 1 runs in one process.", func(c *Config) *int { return &c.Default.OsapiComputeWorkers }),
	boolean(secDefault, "debug", "false", "Log at debug level. Re-read on SIGHUP.", func(c *Config) *bool { return &c.Default.Debug }),
	boolean(secDefault, "use_json", "false", "Log as JSON lines instead of text.", func(c *Config) *bool { return &c.Default.UseJSON }),
	boolean(secDefault, "allow_resize_to_same_host", "false", "Allow the scheduler to choose the instance's own host as the destination of a resize (useful with a single compute).", func(c *Config) *bool { return &c.Default.AllowResizeToSameHost }),
	seconds(secDefault, "resize_confirm_window", "0", 0, "Seconds after which a resize waiting in VERIFY_RESIZE is confirmed automatically by its destination compute; 0 disables.", func(c *Config) *time.Duration { return &c.Default.ResizeConfirmWindow }),
	signedSeconds(secDefault, "update_resources_interval", "0", "Seconds between nova-compute's update_available_resource runs; 0 means the default periodic spacing (60 s), negative disables the periodic run (it still runs at start).", func(c *Config) *time.Duration { return &c.Default.UpdateResourcesInterval }),
	float(secDefault, "cpu_allocation_ratio", "0.0", "Virtual CPU to physical CPU allocation ratio of this compute's node. 0.0 (nova's None) leaves the node's ratio as it is: initial_cpu_allocation_ratio on a new node.", func(c *Config) *float64 { return &c.Default.CPUAllocationRatio }),
	float(secDefault, "ram_allocation_ratio", "0.0", "Virtual RAM to physical RAM allocation ratio of this compute's node. 0.0 leaves the node's ratio: initial_ram_allocation_ratio on a new node.", func(c *Config) *float64 { return &c.Default.RAMAllocationRatio }),
	float(secDefault, "disk_allocation_ratio", "0.0", "Virtual disk to physical disk allocation ratio of this compute's node. 0.0 leaves the node's ratio: initial_disk_allocation_ratio on a new node.", func(c *Config) *float64 { return &c.Default.DiskAllocationRatio }),
	float(secDefault, "initial_cpu_allocation_ratio", "16.0", "CPU allocation ratio a new compute node starts with (cpu_allocation_ratio unset).", func(c *Config) *float64 { return &c.Default.InitialCPUAllocationRatio }),
	float(secDefault, "initial_ram_allocation_ratio", "1.5", "RAM allocation ratio a new compute node starts with (ram_allocation_ratio unset).", func(c *Config) *float64 { return &c.Default.InitialRAMAllocationRatio }),
	float(secDefault, "initial_disk_allocation_ratio", "1.0", "Disk allocation ratio a new compute node starts with (disk_allocation_ratio unset).", func(c *Config) *float64 { return &c.Default.InitialDiskAllocationRatio }),
	integer64(secDefault, "reserved_host_memory_mb", "512", 0, 1<<40, "Memory (MB) kept for the host: never claimed by instances.", func(c *Config) *int64 { return &c.Default.ReservedHostMemoryMB }),
	integer64(secDefault, "reserved_host_disk_mb", "0", 0, 1<<50, "Disk (MB, rounded up to GB) kept for the host: never claimed by instances.", func(c *Config) *int64 { return &c.Default.ReservedHostDiskMB }),
	integer(secDefault, "reserved_host_cpus", "0", 0, 1<<20, "Host CPUs kept for host processes: never claimed by instances.", func(c *Config) *int { return &c.Default.ReservedHostCPUs }),
	seconds(secDefault, "instance_build_timeout", "3600", 0, "Seconds an instance may stay in vm_state building on its compute host before nova-compute's _check_instance_build_time sets it to error with a fault; 0 disables the check (nova's default; gonova checks after an hour).", func(c *Config) *time.Duration { return &c.Default.InstanceBuildTimeout }),
	str(secDefault, "my_ip", "", "IP address of this host: nova-compute reports it as its hypervisor's host_ip. Empty: the address of the interface that routes to the outside (oslo's get_my_ipv4), 127.0.0.1 without one.", func(c *Config) *string { return &c.Default.MyIP }, validIPOrEmpty),
	str(secDefault, "default_availability_zone", "nova", "Availability zone of a compute host that no aggregate puts in a zone.", func(c *Config) *string { return &c.Default.DefaultAvailabilityZone }, nonEmpty),
	str(secDefault, "internal_service_availability_zone", "internal", "Availability zone shown for the services other than nova-compute; os-availability-zone hides it.", func(c *Config) *string { return &c.Default.InternalServiceAvailabilityZone }, nonEmpty),
	signedSeconds(secDefault, "sync_power_state_interval", "600", "Seconds between nova-compute's _sync_power_states runs; negative disables them.", func(c *Config) *time.Duration { return &c.Default.SyncPowerStateInterval }),

	secretURL(secDatabase, "connection", "", "Database URL: postgresql://user:pass@host:5432/nova. Empty or memory:// selects the in-memory store.", func(c *Config) *string { return &c.Database.Connection }, validDatabaseURL),
	integer(secDatabase, "max_pool_size", "5", 1, 10000, "Most database connections a process keeps open.", func(c *Config) *int { return &c.Database.MaxPoolSize }),

	str(secAPI, "auth_strategy", "keystone", "Authentication: keystone, or noauth2 (development: the token user:project is trusted).", func(c *Config) *string { return &c.API.AuthStrategy }, oneOf("keystone", "noauth2")),

	boolean(secRabbit, "amqp_durable_queues", "false", "Declare durable queues and exchanges; must match the other services on the broker.", func(c *Config) *bool { return &c.Rabbit.AmqpDurableQueues }),
	boolean(secRabbit, "amqp_auto_delete", "false", "Declare auto-delete queues and exchanges; must match the other services on the broker.", func(c *Config) *bool { return &c.Rabbit.AmqpAutoDelete }),
	boolean(secRabbit, "rabbit_quorum_queue", "false", "Declare quorum queues (durable); must match the other services on the broker.", func(c *Config) *bool { return &c.Rabbit.RabbitQuorumQueue }),
	integer(secRabbit, "rabbit_qos_prefetch_count", "0", 0, 65535, "Messages the broker hands a consumer before acks (basic.qos); 0 matches executor_thread_pool_size (oslo: unlimited). rabbit_stream_fanout needs it above 0.", func(c *Config) *int { return &c.Rabbit.RabbitQosPrefetchCount }),
	seconds(secRabbit, "heartbeat_timeout_threshold", "60", 0, "Seconds after which the broker is considered down when its heartbeats stop; proposed to the broker as the AMQP heartbeat, as oslo does. 0 disables heartbeats.", func(c *Config) *time.Duration { return &c.Rabbit.HeartbeatTimeoutThreshold }),
	integer(secRabbit, "heartbeat_rate", "3", 1, 1<<20, "How many times per heartbeat_timeout_threshold oslo checks the heartbeat. Accepted for nova.conf compatibility: gonova's client checks continuously (a silent broker is dropped after 1.5 heartbeat_timeout_threshold).", func(c *Config) *int { return &c.Rabbit.HeartbeatRate }),
	str(secRabbit, "kombu_failover_strategy", "round-robin", "How the next broker of a multi-host transport_url is chosen when the connection is lost: round-robin (the next one in order) or shuffle (a random one each time).", func(c *Config) *string { return &c.Rabbit.KombuFailoverStrategy }, oneOf("round-robin", "shuffle")),
	floatSeconds(secRabbit, "kombu_reconnect_delay", "1.0", 4.5, "Seconds to wait after a lost connection and after each failed reconnect, and before subscribing again a consumer the broker cancelled (0 to 4.5).", func(c *Config) *time.Duration { return &c.Rabbit.KombuReconnectDelay }),
	floatSeconds(secRabbit, "kombu_reconnect_splay", "0.0", 0, "Up to this many seconds of random time added to each kombu_reconnect_delay wait, to spread the reconnects of many services.", func(c *Config) *time.Duration { return &c.Rabbit.KombuReconnectSplay }),
	seconds(secRabbit, "rabbit_retry_interval", "1", 1, "Seconds to wait after a round of failed reconnects over every broker of transport_url; the wait then grows by rabbit_retry_backoff per round.", func(c *Config) *time.Duration { return &c.Rabbit.RabbitRetryInterval }),
	seconds(secRabbit, "rabbit_retry_backoff", "2", 0, "Seconds added to the reconnect wait after each round of failed reconnects.", func(c *Config) *time.Duration { return &c.Rabbit.RabbitRetryBackoff }),
	seconds(secRabbit, "rabbit_interval_max", "30", 1, "Largest reconnect wait, seconds (kombu waits at most rabbit_interval_max + rabbit_retry_interval).", func(c *Config) *time.Duration { return &c.Rabbit.RabbitIntervalMax }),
	boolean(secRabbit, "enable_cancel_on_failover", "false", "Consume with x-cancel-on-ha-failover, so that RabbitMQ cancels consumers of a mirrored queue that failed over; they subscribe again after kombu_reconnect_delay (so does any consumer the broker cancels).", func(c *Config) *bool { return &c.Rabbit.EnableCancelOnFailover }),
	seconds(secRabbit, "rabbit_transient_queues_ttl", "1800", 0, "x-expires of reply and fanout queues, seconds: a queue unused this long is deleted by the broker; 0 declares no x-expires (then a broker policy must delete them). With rabbit_stream_fanout, the x-max-age of the fanout stream instead.", func(c *Config) *time.Duration { return &c.Rabbit.RabbitTransientQueuesTTL }),
	boolean(secRabbit, "rabbit_transient_quorum_queue", "false", "Declare the reply and fanout queues as quorum queues too (durable, replicated); needs RabbitMQ 3.8. Must match the other services on the broker.", func(c *Config) *bool { return &c.Rabbit.RabbitTransientQuorumQueue }),
	integer(secRabbit, "rabbit_quorum_delivery_limit", "0", 0, 1<<31-1, "x-delivery-limit of quorum queues: a message redelivered more often is dropped (or dead-lettered by a broker policy); 0 sets no limit.", func(c *Config) *int { return &c.Rabbit.RabbitQuorumDeliveryLimit }),
	integer(secRabbit, "rabbit_quorum_max_memory_length", "0", 0, 1<<31-1, "x-max-in-memory-length of quorum queues: most messages kept in memory; 0 sets no limit. (oslo before 2023.1: rabbit_quroum_max_memory_length.)", func(c *Config) *int { return &c.Rabbit.RabbitQuorumMaxMemoryLength }),
	integer(secRabbit, "rabbit_quorum_max_memory_bytes", "0", 0, 1<<31-1, "x-max-in-memory-bytes of quorum queues: most message bytes kept in memory; 0 sets no limit.", func(c *Config) *int { return &c.Rabbit.RabbitQuorumMaxMemoryBytes }),
	boolean(secRabbit, "rabbit_ha_queues", "false", "Declare queues with x-ha-policy: all (RabbitMQ before 3.0; later versions mirror by policy only). Cannot be combined with rabbit_quorum_queue.", func(c *Config) *bool { return &c.Rabbit.RabbitHAQueues }),
	boolean(secRabbit, "rabbit_stream_fanout", "false", "Replace each server's fanout queue with one stream queue per topic, <topic>_fanout (x-queue-type: stream), read by every server from where it stopped; needs RabbitMQ 3.9, rabbit_transient_quorum_queue and a rabbit_qos_prefetch_count above 0.", func(c *Config) *bool { return &c.Rabbit.RabbitStreamFanout }),
	boolean(secRabbit, "use_queue_manager", "false", "Name reply and fanout queues <hostname>:<processname>:<n> instead of random ones, so that a restarted service reuses its queues; n counts in /dev/shm per process group.", func(c *Config) *bool { return &c.Rabbit.UseQueueManager }),
	str(secRabbit, "hostname", "", "Host name in the queue manager's queue names; empty means the machine's host name.", func(c *Config) *string { return &c.Rabbit.Hostname }, nil),
	str(secRabbit, "processname", "", "Process name in the queue manager's queue names; empty means the program's file name.", func(c *Config) *string { return &c.Rabbit.Processname }, nil),
	boolean(secRabbit, "ssl", "false", "Connect to RabbitMQ over TLS (TLS 1.2 or later), as amqps:// or ?ssl=1 in transport_url do. A host of transport_url without a port is then reached on 5671.", func(c *Config) *bool { return &c.Rabbit.SSL }),
	str(secRabbit, "ssl_ca_file", "", "PEM file of the certification authorities the broker's certificate must chain to (read with ssl = true only, as oslo); empty uses the system's roots. A file that cannot be read stops the start.", func(c *Config) *string { return &c.Rabbit.SSLCAFile }, nil),
	str(secRabbit, "ssl_cert_file", "", "PEM client certificate presented to the broker (with ssl = true), for a broker with ssl_options.verify = verify_peer.", func(c *Config) *string { return &c.Rabbit.SSLCertFile }, nil),
	str(secRabbit, "ssl_key_file", "", "PEM private key of ssl_cert_file; empty means the key is in ssl_cert_file.", func(c *Config) *string { return &c.Rabbit.SSLKeyFile }, nil),
	boolean(secRabbit, "ssl_enforce_hostname_verification", "true", "With ssl_ca_file set, check the broker's host name against its certificate; false checks the chain only (oslo's deprecated migration switch). Without ssl_ca_file gonova always checks the name (oslo does not).", func(c *Config) *bool { return &c.Rabbit.SSLEnforceHostnameVerification }),
	str(secRabbit, "ssl_version", "", "TLS version: empty or sslv23 (TLS 1.2 or later), tlsv1_2 (TLS 1.2 only). tlsv1, tlsv1_1, sslv2 and sslv3 are accepted and ignored with a warning: gonova never speaks less than TLS 1.2.", func(c *Config) *string { return &c.Rabbit.SSLVersion }, validSSLVersion),

	str(secPolicy, "policy_file", "policy.yaml", "The policy file: YAML (or JSON) rules overriding the API's defaults. A relative path is looked for in the --config-dir, the directories of the --config-file files, ~/.nova, ~, /etc/nova and /etc. A missing file is fine: the defaults apply. Re-read on SIGHUP; a file that does not parse stops the start, and on SIGHUP keeps the rules in force.", func(c *Config) *string { return &c.Policy.PolicyFile }, nil),
	boolean(secPolicy, "enforce_scope", "false", "Refuse (403) a token whose scope (project, domain or system) is not among the scope types of the rule checked. When false such calls are allowed and logged.", func(c *Config) *bool { return &c.Policy.EnforceScope }),
	boolean(secPolicy, "enforce_new_defaults", "false", "Check only the new default of a rule whose default changed; when false the deprecated default is or'ed with it (for example: any caller in its own project, as admin_or_owner allowed).", func(c *Config) *bool { return &c.Policy.EnforceNewDefaults }),
	str(secPolicy, "policy_dirs", "policy.d", "A directory (looked for as policy_file is) whose files, in lexical order, override rules after policy_file. A missing directory is fine; empty disables it. oslo allows several; gonova reads one.", func(c *Config) *string { return &c.Policy.PolicyDirs }, nil),
	str(secPolicy, "policy_default_rule", "default", "Rule a reference to an undefined rule falls back to, when the policy file defines it.", func(c *Config) *string { return &c.Policy.PolicyDefaultRule }, nil),
	multiStr(secNotify, "driver", "", "Driver that sends notifications: messagingv2 (oslo's 2.0 envelope), messaging (the 1.0 bare dict), log (to the service log), noop. Multi-valued: repeat the line for several drivers. None (the default) sends nothing.", func(c *Config) *[]string { return &c.Notifications.Driver }, oneOf("messagingv2", "messaging", "log", "noop")),
	secretURL(secNotify, "transport_url", "", "Messaging transport for notifications; empty means [DEFAULT] transport_url.", func(c *Config) *string { return &c.Notifications.TransportURL }, validTransportURL),
	list(secNotify, "topics", "notifications", "Comma-separated topics notifications are published to, each as <topic>.<priority> on the control exchange.", func(c *Config) *[]string { return &c.Notifications.Topics }),
	integer(secNotify, "retry", "-1", -1, 1<<30, "Reconnects tried to send a notification before it is dropped (and logged); 0 tries once, -1 retries until it is sent.", func(c *Config) *int { return &c.Notifications.Retry }),

	str(secNovaNotify, "notify_on_state_change", "", "Send compute.instance.update notifications on instance state changes: vm_state, or vm_and_task_state; unset sends none. (gonova sends no instance.update notifications yet: accepted for nova.conf compatibility.) Deprecated in [DEFAULT].", func(c *Config) *string { return &c.NovaNotifications.NotifyOnStateChange }, oneOf("", "vm_state", "vm_and_task_state")),
	str(secNovaNotify, "default_level", "INFO", "Default notification level for outgoing notifications: DEBUG, INFO, WARN, ERROR, CRITICAL. nova 26 defines it but sends each notification at its own priority, and so does gonova. ([DEFAULT] default_notification_level is its deprecated name.)", func(c *Config) *string { return &c.NovaNotifications.DefaultLevel }, oneOf("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")),
	str(secNovaNotify, "notification_format", "unversioned", "Which notifications nova emits: unversioned (the legacy ones, on [oslo_messaging_notifications] topics), versioned (on versioned_notifications_topics), or both. Nothing is sent without an [oslo_messaging_notifications] driver. Deprecated in [DEFAULT].", func(c *Config) *string { return &c.NovaNotifications.NotificationFormat }, oneOf("unversioned", "versioned", "both")),
	list(secNovaNotify, "versioned_notifications_topics", "versioned_notifications", "Comma-separated topics the versioned notifications are sent to (each as <topic>.<priority>).", func(c *Config) *[]string { return &c.NovaNotifications.VersionedNotificationsTopics }),
	boolean(secNovaNotify, "bdms_in_notifications", "false", "Include block device information in versioned instance notifications. (gonova has no block devices: its instance notifications carry an empty list either way.)", func(c *Config) *bool { return &c.NovaNotifications.BdmsInNotifications }),

	integer64(secMiddleware, "max_request_body_size", "114688", 1, 1<<40, "Largest request body the API accepts, bytes.", func(c *Config) *int64 { return &c.Middleware.MaxRequestBodySize }),

	list(secGlance, "api_servers", "", "Glance API servers (http://127.0.0.1:9292), tried in a shuffled cycle, that nova-api asks about the imageRef of a create or rebuild (deprecated in nova for endpoint_override or the catalog; read by both). Empty: endpoint_override, else the image endpoint of the caller's Keystone catalog (auth_strategy = keystone); under noauth2 with neither there is no image service and any image id is accepted.", func(c *Config) *[]string { return &c.Glance.APIServers }),
	integer(secGlance, "num_retries", "3", 0, 1000, "Further tries, each on the next api_servers entry, when a Glance server cannot be reached; 0 tries once.", func(c *Config) *int { return &c.Glance.NumRetries }),
	str(secGlance, "endpoint_override", "", "One Glance URL to use instead of the catalog's (keystoneauth's adapter option).", func(c *Config) *string { return &c.Glance.EndpointOverride }, nil),
	str(secGlance, "region_name", "", "Region of the image endpoint taken from the caller's catalog; empty takes any region's.", func(c *Config) *string { return &c.Glance.RegionName }, nil),
	list(secGlance, "valid_interfaces", "internal,public", "Interfaces of the catalog's image endpoint, in order of preference: internal, public, admin.", func(c *Config) *[]string { return &c.Glance.ValidInterfaces }),

	str(secKeystone, "www_authenticate_uri", "", "Public Identity API endpoint that 401 answers point clients to (WWW-Authenticate: Keystone uri=...). Empty: auth_url.", func(c *Config) *string { return &c.KeystoneAuthtoken.WWWAuthenticateURI }, nil),
	str(secKeystone, "auth_url", "", "Identity endpoint the service authenticates against (its own token validates users' tokens), e.g. http://keystone:5000/v3. Required with auth_strategy = keystone.", func(c *Config) *string { return &c.KeystoneAuthtoken.AuthURL }, nil),
	str(secKeystone, "auth_type", "password", "How the service authenticates to Keystone; gonova supports password (v3password is the same).", func(c *Config) *string { return &c.KeystoneAuthtoken.AuthType }, oneOf("password", "v3password")),
	str(secKeystone, "username", "", "The service user's name (nova).", func(c *Config) *string { return &c.KeystoneAuthtoken.Username }, nil),
	password(secKeystone, "password", "", "The service user's password.", func(c *Config) *string { return &c.KeystoneAuthtoken.Password }),
	str(secKeystone, "project_name", "", "Project the service's token is scoped to (service).", func(c *Config) *string { return &c.KeystoneAuthtoken.ProjectName }, nil),
	str(secKeystone, "user_domain_name", "", "Domain of the service user, by name (Default). With neither this nor user_domain_id, the domain id default is used.", func(c *Config) *string { return &c.KeystoneAuthtoken.UserDomainName }, nil),
	str(secKeystone, "user_domain_id", "", "Domain of the service user, by id.", func(c *Config) *string { return &c.KeystoneAuthtoken.UserDomainID }, nil),
	str(secKeystone, "project_domain_name", "", "Domain of the service's project, by name (Default). With neither this nor project_domain_id, the domain id default is used.", func(c *Config) *string { return &c.KeystoneAuthtoken.ProjectDomainName }, nil),
	str(secKeystone, "project_domain_id", "", "Domain of the service's project, by id.", func(c *Config) *string { return &c.KeystoneAuthtoken.ProjectDomainID }, nil),
	str(secKeystone, "region_name", "", "Region of the identity endpoint taken from the service catalog.", func(c *Config) *string { return &c.KeystoneAuthtoken.RegionName }, nil),
	str(secKeystone, "interface", "internal", "Interface of the identity endpoint taken from the catalog: public, internal or admin.", func(c *Config) *string { return &c.KeystoneAuthtoken.Interface }, oneOf("public", "internal", "admin")),
	str(secKeystone, "cafile", "", "PEM file of the CAs that sign Keystone's certificate. Default: the system's.", func(c *Config) *string { return &c.KeystoneAuthtoken.Cafile }, nil),
	boolean(secKeystone, "insecure", "false", "Do not verify Keystone's TLS certificate (tests only).", func(c *Config) *bool { return &c.KeystoneAuthtoken.Insecure }),
	integer(secKeystone, "token_cache_time", "300", -1, 1<<30, "Seconds a validated token is cached (never past its expiry); a revoked token is accepted until its entry expires. 0 or -1 disables caching.", func(c *Config) *int { return &c.KeystoneAuthtoken.TokenCacheTime }),
	list(secKeystone, "memcached_servers", "", "host:port list of memcached servers shared by the API's processes; empty caches in each process only.", func(c *Config) *[]string { return &c.KeystoneAuthtoken.MemcachedServers }),
	list(secKeystone, "service_token_roles", "service", "An X-Service-Token must carry one of these roles to be a valid service token.", func(c *Config) *[]string { return &c.KeystoneAuthtoken.ServiceTokenRoles }),
	boolean(secKeystone, "service_token_roles_required", "true", "When false, any valid token is accepted as X-Service-Token (with a warning): keystonemiddleware's old behaviour.", func(c *Config) *bool { return &c.KeystoneAuthtoken.ServiceTokenRolesRequired }),
	boolean(secKeystone, "delay_auth_decision", "false", "Pass requests without a valid token on with X-Identity-Status: Invalid instead of answering 401 (for services that decide themselves).", func(c *Config) *bool { return &c.KeystoneAuthtoken.DelayAuthDecision }),
	boolean(secKeystone, "include_service_catalog", "true", "Ask Keystone for the token's service catalog and pass it on (X-Service-Catalog, the caller's context).", func(c *Config) *bool { return &c.KeystoneAuthtoken.IncludeServiceCatalog }),
	str(secUpgrade, "compute", "", "Compute RPC API version cap: the highest version nova-api sends to nova-compute. Unset sends the newest this release speaks. During a rolling upgrade, set what the oldest compute understands: a version (6.0), a release name in lower case as nova names them (wallaby, zed), or auto: the version the oldest nova-compute serves, read from the service versions in the services table at start and again on SIGHUP. The value itself is read at start only.", func(c *Config) *string { return &c.UpgradeLevels.Compute }, validUpgradeLevel),

	boolean(secWorkaround, "disable_compute_service_check_for_ffu", "false", "At start, a nova-compute row older than the oldest service version this release supports is logged as a warning instead of refusing to start (exit code 2). Only for a fast-forward upgrade, where control services start before the computes updated their rows.", func(c *Config) *bool { return &c.Workarounds.DisableComputeServiceCheckForFFU }),

	integer(secQuota, "instances", "10", -1, math.MaxInt32, "Instances a project may have; -1 is unlimited. Counted from the project's live instances at create.", func(c *Config) *int { return &c.Quota.Instances }),
	integer(secQuota, "cores", "20", -1, math.MaxInt32, "Instance cores (vcpus) a project may have; -1 is unlimited.", func(c *Config) *int { return &c.Quota.Cores }),
	integer(secQuota, "ram", "51200", -1, math.MaxInt32, "Megabytes of instance RAM a project may have; -1 is unlimited.", func(c *Config) *int { return &c.Quota.RAM }),
	integer(secQuota, "metadata_items", "128", -1, math.MaxInt32, "Metadata items per server; -1 is unlimited.", func(c *Config) *int { return &c.Quota.MetadataItems }),
	integer(secQuota, "injected_files", "5", -1, math.MaxInt32, "Files injected per server (personality); shown by os-quota-sets and /limits before 2.57. gonova injects no files.", func(c *Config) *int { return &c.Quota.InjectedFiles }),
	integer(secQuota, "injected_file_content_bytes", "10240", -1, math.MaxInt32, "Bytes of one injected file; shown before 2.57. gonova injects no files.", func(c *Config) *int { return &c.Quota.InjectedFileContentBytes }),
	integer(secQuota, "injected_file_path_length", "255", -1, math.MaxInt32, "Length of an injected file's path (the injected_file_path_bytes quota); shown before 2.57. gonova injects no files.", func(c *Config) *int { return &c.Quota.InjectedFilePathLength }),
	integer(secQuota, "key_pairs", "100", -1, math.MaxInt32, "Key pairs per user; -1 is unlimited.", func(c *Config) *int { return &c.Quota.KeyPairs }),
	integer(secQuota, "server_groups", "10", -1, math.MaxInt32, "Server groups a project may have; -1 is unlimited.", func(c *Config) *int { return &c.Quota.ServerGroups }),
	integer(secQuota, "server_group_members", "10", -1, math.MaxInt32, "Servers one server group may hold; -1 is unlimited.", func(c *Config) *int { return &c.Quota.ServerGroupMembers }),
	str(secQuota, "driver", "nova.quota.DbQuotaDriver", "Quota driver. gonova implements nova.quota.DbQuotaDriver only: limits in the database (os-quota-sets) over the defaults above, usage counted from the live rows, atomically at create. For nova's NoopQuotaDriver set the limits to -1; nova.quota.UnifiedLimitsDriver (limits in Keystone) is not supported.", func(c *Config) *string { return &c.Quota.Driver }, validQuotaDriver),
	boolean(secQuota, "recheck_quota", "true", "nova re-counts usage after creating the rows to catch races. gonova checks and creates in one database transaction under a per-project lock, so no race can pass the first check: accepted, and the same either way.", func(c *Config) *bool { return &c.Quota.RecheckQuota }),

	str(secGonova, "metrics_listen", "127.0.0.1:9774", "Address of nova-compute's own /metrics and /healthcheck listener; empty disables it.", func(c *Config) *string { return &c.Gonova.MetricsListen }, validListenOrEmpty),
	str(secGonova, "api_metrics_listen", "127.0.0.1:9775", "Address of nova-api's /metrics and detailed /healthcheck listener, kept off the public API port (loopback by default); empty disables it. API workers share it.", func(c *Config) *string { return &c.Gonova.APIMetricsListen }, validListenOrEmpty),
	integer(secGonova, "fake_driver_vcpus", "0", 0, 1<<20, "vcpus of the fake virt driver's host; 0 means its default (1000, nova's fake).", func(c *Config) *int { return &c.Gonova.FakeDriverVCPUs }),
	integer(secGonova, "fake_driver_memory_mb", "0", 0, 1<<30, "Memory (MB) of the fake virt driver's host; 0 means its default (800000).", func(c *Config) *int { return &c.Gonova.FakeDriverMemoryMB }),
	integer(secGonova, "fake_driver_local_gb", "0", 0, 1<<30, "Disk (GB) of the fake virt driver's host; 0 means its default (600000).", func(c *Config) *int { return &c.Gonova.FakeDriverLocalGB }),
	seconds(secGonova, "rpc_unavailable_timeout", "5", 0, "How long an RPC cast or call waits for the message broker (reconnecting, or a publish not confirmed) before it fails: an API request then answers 503 and a boot sets its instance to error. 0 waits for rpc_response_timeout.", func(c *Config) *time.Duration { return &c.Gonova.RPCUnavailableTimeout }),
	seconds(secGonova, "rpc_unroutable_timeout", "10", 0, "How long an RPC cast or call that the broker returns for want of a queue (its servers have not declared it yet, as after a broker restart with non-durable queues) is sent again before it fails; 0 fails at the first return. Fanout casts are never returned.", func(c *Config) *time.Duration { return &c.Gonova.RPCUnroutableTimeout }),
	seconds(secGonova, "build_request_timeout", "300", 0, "nova-api fails (vm_state error, with a fault) an instance still in task_state scheduling this many seconds after it was created: no compute took its build request (lost, or the compute is down). 0 disables the sweep.", func(c *Config) *time.Duration { return &c.Gonova.BuildRequestTimeout }),
	boolean(secGonova, "default_flavors", "false", "When true, nova-api creates nova's classic m1.* flavors (m1.tiny to m1.xlarge, ids 1 to 5) that do not exist when it starts, as `nova-manage flavor create-defaults` does; a flavor of that id or name that exists is left as it is. nova itself has no flavors until an admin creates them (false). The embedded default (etc/nova-all.conf) sets it: its in-memory store starts empty.", func(c *Config) *bool { return &c.Gonova.DefaultFlavors }),
	seconds(secGonova, "manager_shutdown_timeout", "60", 0, "At stop, how long a manager may finish in-flight work before it is cut off, seconds.", func(c *Config) *time.Duration { return &c.Gonova.ManagerShutdownTimeout }),
}

// ignoredSections belong to other parts of nova: accepted, listed in Ignored.
var ignoredSections = map[string]bool{
	"placement": true, "neutron": true, "glance": true,
	"cinder": true, "libvirt": true, "vnc": true, "spice": true, "serial_console": true,
	"scheduler": true, "filter_scheduler": true, "conductor": true, "api_database": true,
	"oslo_concurrency": true,
	"cache":            true, "wsgi": true,
	"keystone": true, "service_user": true, "cells": true,
	"compute": true, "pci": true, "os_vif_ovs": true, "key_manager": true,
	"barbican": true, "ironic": true, "metrics": true, "oslo_limit": true, "profiler": true,
	"oslo_messaging_amqp": true, "oslo_messaging_kafka": true, "privsep": true, "mks": true,
	"powervm": true, "hyperv": true, "vmware": true, "zvm": true, "healthcheck": true,
	"cors": true, "devices": true, "ephemeral_storage_encryption": true, "image_cache": true,
	"oslo_reports": true, "remote_debug": true, "guestfs": true, "rdp": true, "xenserver": true,
}

// ignoredOptions are options of sections gonova reads that belong to parts
// of oslo gonova does not implement: accepted, listed in Ignored.
var ignoredOptions = map[string]map[string]bool{
	// nova's other RPC version caps: gonova has no such services.
	secUpgrade: {"cert": true, "scheduler": true, "conductor": true, "baseapi": true},
	// nova's other workarounds (nova 26): libvirt, ironic and placement details.
	secWorkaround: {
		"disable_rootwrap": true, "disable_libvirt_livesnapshot": true, "handle_virt_lifecycle_events": true,
		"disable_group_policy_check_upcall": true, "enable_numa_live_migration": true,
		"ensure_libvirt_rbd_instance_dir_cleanup": true, "disable_fallback_pcpu_query": true,
		"never_download_image_if_on_rbd": true, "reserve_disk_resource_for_image_cache": true,
		"libvirt_disable_apic": true, "wait_for_vif_plugged_event_during_hard_reboot": true,
		"enable_qemu_monitor_announce_self": true, "unified_limits_count_pcpu_as_vcpu": true,
		"skip_cpu_compare_on_dest": true, "skip_cpu_compare_at_startup": true,
		"skip_hypervisor_version_check_on_lm": true, "skip_reserve_in_use_ironic_nodes": true,
		"disable_deep_image_inspection": true,
	},
	// nova 26's placement-based counting: gonova has no placement.
	secQuota: {"count_usage_from_placement": true},
	secPolicy: {
		"remote_content_type": true, "remote_ssl_verify_server_crt": true,
		"remote_ssl_ca_crt_file": true, "remote_ssl_client_crt_file": true, "remote_ssl_client_key_file": true,
	},
}

// lenientSections are read by gonova, but hold many more options of their
// owners (keystonemiddleware's memcache_*, auth_version, ...): an option gonova
// does not read there is accepted and listed in Ignored, not refused.
// [notifications] and [glance] were ignored whole before gonova read them
// (nova has many more [glance] options: verify_glance_signatures, ...), so an existing
// nova.conf keeps working.
var lenientSections = map[string]bool{secKeystone: true, secNovaNotify: true, secGlance: true}

// deprecatedDefaults are [DEFAULT] names of options that moved to another
// section (oslo's deprecated_group / deprecated_name): they set the new
// option.
var deprecatedDefaults = map[string]struct{ section, name string }{
	"notification_format":        {secNovaNotify, "notification_format"},
	"notify_on_state_change":     {secNovaNotify, "notify_on_state_change"},
	"default_notification_level": {secNovaNotify, "default_level"},
}

// ignoredDefaults are [DEFAULT] options of nova and oslo that gonova does not use.
var ignoredDefaults = map[string]bool{
	"compute_driver": true, "state_path": true, "instances_path": true,
	"log_dir": true, "log_file": true, "use_syslog": true, "use_stderr": true,
	"verbose": true, "log_config_append": true, "default_log_levels": true,
	"logging_context_format_string": true, "rootwrap_config": true, "use_neutron": true,
	"firewall_driver": true, "enabled_apis": true, "metadata_listen": true,
	"metadata_listen_port": true, "metadata_workers": true, "allow_resize_to_same_host": true,
	"instance_usage_audit":             true,
	"resume_guests_state_on_host_boot": true, "block_device_allocate_retries": true,
	"heal_instance_info_cache_interval": true, "vif_plugging_timeout": true,
	"vif_plugging_is_fatal": true,
	"rpc_conn_pool_size":    true, "publish_errors": true,
	"instance_name_template": true, "max_concurrent_builds": true, "config_drive_format": true,
}

// validQuotaDriver accepts nova's DbQuotaDriver, the one gonova implements,
// and says what to do instead of the others.
func validQuotaDriver(v string) error {
	switch v {
	case "nova.quota.DbQuotaDriver":
		return nil
	case "nova.quota.NoopQuotaDriver":
		return errors.New("gonova implements nova.quota.DbQuotaDriver only; for no quota checks set [quota] instances, cores, ram and the other limits to -1")
	case "nova.quota.UnifiedLimitsDriver":
		return errors.New("gonova implements nova.quota.DbQuotaDriver only; unified limits (Keystone's [oslo_limit]) are not supported")
	}
	return errors.New("gonova implements nova.quota.DbQuotaDriver only")
}

func validSSLVersion(v string) error {
	switch strings.ToLower(v) {
	case "", "sslv23", "tlsv1_2", "tlsv1", "tlsv1_1", "sslv2", "sslv3":
		return nil
	}
	return fmt.Errorf("invalid SSL version %q: one of sslv23, tlsv1_2 (or tlsv1, tlsv1_1, sslv2, sslv3, ignored)", v)
}

// --- typed option constructors ---

func str(sec, name, def, help string, field func(*Config) *string, check func(string) error) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return *field(c) },
	}
}

func secretURL(sec, name, def, help string, field func(*Config) *string, check func(string) error) option {
	o := str(sec, name, def, help, field, check)
	o.secret = true
	return o
}

// password is a secret that is not a URL: shown as *** when set.
func password(sec, name, def, help string, field func(*Config) *string) option {
	o := str(sec, name, def, help, field, nil)
	o.secret, o.password = true, true
	return o
}

// multiStr is oslo.config's MultiStrOpt: every line of the option adds a
// value (files and the environment included, in the order they are read).
// An empty value adds nothing.
func multiStr(sec, name, def, help string, field func(*Config) *[]string, check func(string) error) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil
			}
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(c) = append(*field(c), v)
			return nil
		},
		get: func(c *Config) string { return strings.Join(*field(c), ",") },
	}
}

// list is oslo.config's ListOpt: one comma-separated value, which replaces
// the previous one. Empty items are dropped.
func list(sec, name, def, help string, field func(*Config) *[]string) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			var out []string
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
			*field(c) = out
			return nil
		},
		get: func(c *Config) string { return strings.Join(*field(c), ",") },
	}
}

func boolean(sec, name, def, help string, field func(*Config) *bool) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			b, err := parseBool(v)
			if err != nil {
				return err
			}
			*field(c) = b
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

func integer(sec, name, def string, lo, hi int, help string, field func(*Config) *int) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := parseInt(v, int64(lo), int64(hi))
			if err != nil {
				return err
			}
			*field(c) = int(n)
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
	}
}

func integer64(sec, name, def string, lo, hi int64, help string, field func(*Config) *int64) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := parseInt(v, lo, hi)
			if err != nil {
				return err
			}
			*field(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

// float is a decimal number of at least 0, as nova's FloatOpt(min=0.0).
func float(sec, name, def, help string, field func(*Config) *float64) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("not a number")
			}
			if f < 0 {
				return fmt.Errorf("must be at least 0")
			}
			*field(c) = f
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(*field(c), 'f', -1, 64) },
	}
}

// floatSeconds is oslo's FloatOpt of seconds, from 0 to hi (hi 0: no
// upper bound).
func floatSeconds(sec, name, def string, hi float64, help string, field func(*Config) *time.Duration) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("not a number")
			}
			if f < 0 || (hi > 0 && f > hi) {
				if hi > 0 {
					return fmt.Errorf("must be from 0 to %g", hi)
				}
				return fmt.Errorf("must be at least 0")
			}
			*field(c) = time.Duration(f * float64(time.Second))
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(field(c).Seconds(), 'f', -1, 64) },
	}
}

// seconds is an integer number of seconds, as nova's interval options are.
// durationSeconds is d as an option default: whole seconds.
func durationSeconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func seconds(sec, name, def string, lo int64, help string, field func(*Config) *time.Duration) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := parseInt(v, lo, 1<<31)
			if err != nil {
				return err
			}
			*field(c) = time.Duration(n) * time.Second
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(int64(field(c).Seconds()), 10) },
	}
}

// signedSeconds is a whole number of seconds that may be negative (nova's
// periodic intervals: negative disables the task).
func signedSeconds(sec, name, def, help string, field func(*Config) *time.Duration) option {
	return option{section: sec, name: name, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := parseInt(v, -(1 << 31), 1<<31)
			if err != nil {
				return err
			}
			*field(c) = time.Duration(n) * time.Second
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(int64(field(c).Seconds()), 10) },
	}
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (use true or false)")
}

func parseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a whole number")
	}
	if n < lo {
		return 0, fmt.Errorf("must be at least %d", lo)
	}
	if n > hi {
		return 0, fmt.Errorf("must be at most %d", hi)
	}
	return n, nil
}

// --- validators ---

func nonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

// validUpgradeLevel accepts what [upgrade_levels] compute may hold: empty,
// auto, a version N.N, or a lower-case release name (the compute RPC client
// knows which release names exist and refuses an unknown one at start).
func validUpgradeLevel(v string) error {
	if v == "" || v == "auto" {
		return nil
	}
	if major, minor, ok := strings.Cut(v, "."); ok {
		if _, err := parseInt(major, 0, 1000); err == nil && !strings.ContainsAny(major, "+- ") {
			if _, err := parseInt(minor, 0, 1000); err == nil && !strings.ContainsAny(minor, "+- ") {
				return nil
			}
		}
		return fmt.Errorf("not a version: use N.N (6.0), a release name (zed) or auto")
	}
	for _, r := range v {
		if r < 'a' || r > 'z' {
			return fmt.Errorf("not a version (6.0), a release name in lower case (zed) or auto")
		}
	}
	return nil
}

// validIPOrEmpty is nova's IPOpt, empty allowed for "detect".
func validIPOrEmpty(v string) error {
	if v != "" && net.ParseIP(v) == nil {
		return fmt.Errorf("not an IP address")
	}
	return nil
}

func validHost(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	if strings.ContainsAny(v, " /:") && net.ParseIP(v) == nil {
		return fmt.Errorf("not a host name or IP address")
	}
	return nil
}

func validListenOrEmpty(v string) error {
	if v == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("not host:port (an IPv6 address in brackets: [::1]:9774)")
	}
	if _, err := parseInt(port, 0, 65535); err != nil {
		return fmt.Errorf("the port: %v", err)
	}
	return nil
}

// validBackdoorPort accepts "", a port, 0, or start:end as oslo.service does.
func validBackdoorPort(v string) error {
	if v == "" {
		return nil
	}
	if lo, hi, ok := strings.Cut(v, ":"); ok {
		a, err1 := parseInt(lo, 0, 65535)
		b, err2 := parseInt(hi, 0, 65535)
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("a range must be start:end with 0 <= start <= end <= 65535")
		}
		return nil
	}
	if _, err := parseInt(v, 0, 65535); err != nil {
		return fmt.Errorf("must be a port, 0, or start:end: %v", err)
	}
	return nil
}

// TransportSchemes are the transport_url schemes gonova understands.
var TransportSchemes = []string{"rabbit", "amqp", "amqps", "memory"}

// validTransportURL and validDatabaseURL check a URL with urlcheck, whose
// errors name the wrong part and never echo the value (a malformed URL may
// hold its password anywhere); a scheme is quoted only once urlcheck found it
// to be one.
func validTransportURL(v string) error {
	if v == "" || strings.HasPrefix(v, "memory://") {
		return nil
	}
	u, err := urlcheck.Parse(v)
	if errors.Is(err, urlcheck.ErrNotURL) {
		return fmt.Errorf("%v, for example rabbit://guest:guest@127.0.0.1:5672/", err)
	}
	if err != nil {
		return err
	}
	if err := oneOf(TransportSchemes...)(u.Scheme); err != nil {
		return fmt.Errorf("unsupported scheme %q: %v", u.Scheme, err)
	}
	for i, h := range u.Hosts {
		if h.Host == "" {
			if len(u.Hosts) == 1 {
				return fmt.Errorf("no host in URL")
			}
			return fmt.Errorf("host %d is empty", i+1)
		}
	}
	return nil
}

func validDatabaseURL(v string) error {
	if v == "" || v == "memory://" {
		return nil
	}
	u, err := urlcheck.Parse(NormalizeDatabaseURL(v))
	if errors.Is(err, urlcheck.ErrNotURL) {
		return fmt.Errorf("%v: gonova needs postgresql://user:pass@host:5432/dbname", err)
	}
	if err != nil {
		return err
	}
	if u.Scheme != "postgresql" && u.Scheme != "postgres" {
		return fmt.Errorf("unsupported scheme %q: gonova needs postgresql://user:pass@host:5432/dbname", u.Scheme)
	}
	if u.Query.Get("host") == "" {
		for i, h := range u.Hosts {
			if h.Host == "" {
				if len(u.Hosts) == 1 {
					return fmt.Errorf("no host in URL")
				}
				return fmt.Errorf("host %d is empty", i+1)
			}
		}
	}
	return nil
}

// NormalizeDatabaseURL turns SQLAlchemy-style URLs as nova writes them
// (postgresql+psycopg2://...) into the plain postgresql:// form pgx takes.
func NormalizeDatabaseURL(v string) string {
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		if base, _, hasDriver := strings.Cut(scheme, "+"); hasDriver {
			return base + "://" + rest
		}
	}
	return v
}

// MaskURL hides the passwords of every host in a URL, including oslo's
// multi-host transport URLs: rabbit://u:secret@h1,u:secret@h2/ becomes
// rabbit://u:***@h1,u:***@h2/; a value that is not scheme://... is hidden
// whole. It is the report's masking of secret URLs (gmr.MaskSecretURL), so
// that logs, errors and reports agree.
func MaskURL(v string) string { return gmr.MaskSecretURL(v) }
