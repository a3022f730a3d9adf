package twin

import (
	"net/netip"

	"github.com/preflight-sh/preflight/units"
)

// Meta is the part every twin document shares: its kind, its name (unique
// within the kind) and labels that selectors match on.
type Meta struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`

	src *Source
}

// Meta returns the object's shared part; it makes every kind an Object.
func (m *Meta) GetMeta() *Meta { return m }

// Source is where the object was written: the document's position and the
// position of each field, by path ("interfaces[0].addresses[1]").
func (m *Meta) Source() *Source { return m.src }

// SetSource records where the object was written.
func (m *Meta) SetSource(s *Source) { m.src = s }

// State is the operational state of a zone, site, device, link, interface or
// instance. The empty state means active.
type State string

// Operational states.
const (
	Active  State = "active"
	Drained State = "drained" // taken out of service on purpose; still healthy
	Down    State = "down"    // failed or powered off
)

// Up reports whether the state carries traffic.
func (s State) Up() bool { return s == "" || s == Active }

// ---- places ---------------------------------------------------------------

// Region is a geographic region; zones and sites belong to one.
type Region struct {
	Meta `json:",inline"`
}

// Zone is an availability zone (a failure domain) inside a region.
type Zone struct {
	Meta   `json:",inline"`
	Region string `json:"region"`
	State  State  `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// Site is a physical location: a data centre or a point of presence.
type Site struct {
	Meta   `json:",inline"`
	Type   string `json:"type" jsonschema:"enum=datacenter,enum=pop"`
	Region string `json:"region"`
	Zone   string `json:"zone,omitempty"`
	State  State  `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// ---- network --------------------------------------------------------------

// Device is a router or switch: interfaces with addresses, static routes,
// an optional BGP speaker and a route-table limit.
type Device struct {
	Meta         `json:",inline"`
	Site         string          `json:"site"`
	Role         string          `json:"role,omitempty"`
	RouterID     netip.Addr      `json:"routerID,omitempty"`
	RouteLimit   int             `json:"routeLimit,omitempty"`
	Capacity     units.Bandwidth `json:"capacity,omitempty"`
	State        State           `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
	Interfaces   []Interface     `json:"interfaces,omitempty"`
	StaticRoutes []StaticRoute   `json:"staticRoutes,omitempty"`
	BGP          *BGP            `json:"bgp,omitempty"`
}

// Interface is a device port with its addresses (address/prefix-length, IPv4
// or IPv6) and the ACLs applied to traffic entering and leaving it.
type Interface struct {
	Name      string         `json:"name"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
	ACLIn     string         `json:"aclIn,omitempty"`
	ACLOut    string         `json:"aclOut,omitempty"`
	State     State          `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// StaticRoute sends a prefix to a next-hop address, out of an interface, or
// drops it (a null route).
type StaticRoute struct {
	Prefix        netip.Prefix `json:"prefix"`
	NextHop       netip.Addr   `json:"nextHop,omitempty"`
	Interface     string       `json:"interface,omitempty"`
	Drop          bool         `json:"drop,omitempty"`
	AdminDistance int          `json:"adminDistance,omitempty"`
}

// BGP is a device's BGP speaker: its AS, the prefixes it originates and its
// sessions.
type BGP struct {
	ASN       uint32         `json:"asn"`
	Originate []netip.Prefix `json:"originate,omitempty"`
	Neighbors []BGPNeighbor  `json:"neighbors,omitempty"`
}

// BGPNeighbor is one BGP session. Peer names the twin device at the other
// end; an external peer outside the twin gives only its address and AS.
// RouteReflectorClient makes this device a route reflector for an iBGP
// peer: routes learned from it are reflected to the other iBGP peers, and
// routes learned from those are reflected to it.
type BGPNeighbor struct {
	Name                 string     `json:"name"`
	Peer                 string     `json:"peer,omitempty"`
	Address              netip.Addr `json:"address,omitempty"`
	RemoteASN            uint32     `json:"remoteASN"`
	Import               []string   `json:"import,omitempty"`
	Export               []string   `json:"export,omitempty"`
	MaxPrefix            int        `json:"maxPrefix,omitempty"`
	RouteReflectorClient bool       `json:"routeReflectorClient,omitempty"`
	State                State      `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// Link joins two device interfaces, written "device:interface". Cost is the
// IGP metric.
type Link struct {
	Meta     `json:",inline"`
	A        string          `json:"a"`
	B        string          `json:"b"`
	Capacity units.Bandwidth `json:"capacity"`
	Cost     int             `json:"cost,omitempty"`
	State    State           `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// RoutePolicy is an ordered BGP import or export policy: the first rule
// whose match fits decides; a route no rule matches is denied.
type RoutePolicy struct {
	Meta  `json:",inline"`
	Rules []PolicyRule `json:"rules"`
}

// PolicyRule matches routes and permits (optionally changing attributes) or
// denies them.
type PolicyRule struct {
	Match  PolicyMatch `json:"match,omitempty"`
	Action string      `json:"action" jsonschema:"enum=permit,enum=deny"`
	Set    PolicySet   `json:"set,omitempty"`
}

// PolicyMatch is a conjunction; an empty match matches every route.
type PolicyMatch struct {
	Prefixes    []PrefixMatch `json:"prefixes,omitempty"`
	Communities []string      `json:"communities,omitempty"`
	ASPath      string        `json:"asPath,omitempty"`
}

// PrefixMatch matches a prefix and, with ge/le, its more-specifics.
type PrefixMatch struct {
	Prefix netip.Prefix `json:"prefix"`
	GE     int          `json:"ge,omitempty"`
	LE     int          `json:"le,omitempty"`
}

// PolicySet lists the attributes a permitting rule changes.
type PolicySet struct {
	LocalPref      *int     `json:"localPref,omitempty"`
	MED            *int     `json:"med,omitempty"`
	AddCommunities []string `json:"addCommunities,omitempty"`
	Prepend        int      `json:"prepend,omitempty"`
}

// ACL is an ordered access list: first match wins, and a packet no rule
// matches is denied.
type ACL struct {
	Meta  `json:",inline"`
	Rules []ACLRule `json:"rules"`
}

// ACLRule matches packets by protocol, addresses and ports.
type ACLRule struct {
	Action   string       `json:"action" jsonschema:"enum=permit,enum=deny"`
	Protocol string       `json:"protocol,omitempty"`
	Src      netip.Prefix `json:"src,omitempty"`
	Dst      netip.Prefix `json:"dst,omitempty"`
	SrcPorts string       `json:"srcPorts,omitempty"`
	DstPorts string       `json:"dstPorts,omitempty"`
	Remark   string       `json:"remark,omitempty"`
}

// AnycastPrefix is a prefix announced from several sites. An announcement
// may be withdrawn on purpose, or automatically when its site cannot reach
// the sites it depends on (as edge DNS sites do when they lose their data
// centres).
type AnycastPrefix struct {
	Meta          `json:",inline"`
	Prefix        netip.Prefix   `json:"prefix"`
	Announcements []Announcement `json:"announcements"`
}

// Announcement is one site's announcement of an anycast prefix.
type Announcement struct {
	Site           string   `json:"site"`
	Device         string   `json:"device,omitempty"`
	State          string   `json:"state,omitempty" jsonschema:"enum=announced,enum=withdrawn"`
	WithdrawUnless []string `json:"withdrawUnless,omitempty"`
}

// Announced reports whether the announcement is configured to be up.
func (a Announcement) Announced() bool { return a.State == "" || a.State == "announced" }

// ---- services -------------------------------------------------------------

// Service is an application tier: its instances carry capacity, its floors
// say how much must always remain, and its dependencies say what it calls.
type Service struct {
	Meta             `json:",inline"`
	Criticality      string        `json:"criticality,omitempty" jsonschema:"enum=critical,enum=high,enum=medium,enum=low"`
	Owners           []string      `json:"owners,omitempty"`
	InstanceCapacity units.Rate    `json:"instanceCapacity"`
	Floors           Floors        `json:"floors,omitempty"`
	Headroom         units.Percent `json:"headroom,omitempty"`
	// ZoneLosses is how many zones of a region the service must survive
	// losing at peak (N-k); default 1.
	ZoneLosses   int          `json:"zoneLosses,omitempty"`
	Dependencies []Dependency `json:"dependencies,omitempty"`
	Autoscaling  *Autoscaling `json:"autoscaling,omitempty"`
	SLO          *SLO         `json:"slo,omitempty"`
	// Latency is the mean time one request takes to serve on an idle
	// instance (default 20ms); queueing adds to it under load.
	Latency units.Duration `json:"latency,omitempty"`
	// MaxQueue bounds the work an instance queues, as time to drain it
	// (default 10s); requests beyond it are rejected.
	MaxQueue units.Duration `json:"maxQueue,omitempty"`
	// BytesPerRequest is the traffic one request and its response put on
	// the network; without it the simulation does not load links for the
	// service.
	BytesPerRequest units.Size `json:"bytesPerRequest,omitempty"`
	Crash           *Crash     `json:"crash,omitempty"`
	// Stateful says the service's instances hold data: removing one
	// destroys what it holds, which no rollback brings back.
	Stateful bool `json:"stateful,omitempty"`
	// HealthCheck is how service discovery checks the instances its
	// callers reach without a load balancer.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// Crash says how a service's instances fail under sustained overload: after
// Overload of continuous overload they crash, restart after Restart, and
// then serve at reduced capacity rising linearly to full over Warmup.
type Crash struct {
	Overload units.Duration `json:"overload"`
	Restart  units.Duration `json:"restart"`
	Warmup   units.Duration `json:"warmup,omitempty"`
}

// Floors are the minimum capacity a service must keep, in instances and/or
// requests per second, in total, in each region and in each zone it runs in.
type Floors struct {
	Total     Floor `json:"total,omitempty"`
	PerRegion Floor `json:"perRegion,omitempty"`
	PerZone   Floor `json:"perZone,omitempty"`
}

// Floor is one minimum; zero fields are not checked.
type Floor struct {
	Instances int        `json:"instances,omitempty"`
	Capacity  units.Rate `json:"capacity,omitempty"`
}

// Dependency is a call from one service to another.
type Dependency struct {
	Service         string   `json:"service"`
	CallsPerRequest *float64 `json:"callsPerRequest,omitempty"`
	// PerInstance is calls every running instance makes per second
	// whatever its load: polling, heartbeats, keeping connections open.
	PerInstance units.Rate `json:"perInstance,omitempty"`
	RetryPolicy `json:",inline"`
	Optional    bool `json:"optional,omitempty"`
}

// Calls returns the calls per request, defaulting to one when not written
// (0 is a dependency called only per instance, see PerInstance).
func (d Dependency) Calls() float64 {
	if d.CallsPerRequest == nil {
		return 1
	}
	return *d.CallsPerRequest
}

// RetryPolicy is how a caller retries failed requests: up to Retries more
// attempts, the i-th after Backoff×2^(i-1) spread by ±Jitter, and, with a
// RetryBudget, never more retries than that share of first attempts.
// Timeout ends an attempt that has not been answered.
type RetryPolicy struct {
	Timeout     units.Duration `json:"timeout,omitempty"`
	Retries     int            `json:"retries,omitempty"`
	Backoff     units.Duration `json:"backoff,omitempty"`
	Jitter      units.Percent  `json:"jitter,omitempty"`
	RetryBudget *units.Percent `json:"retryBudget,omitempty"`
}

// Autoscaling bounds and paces a service's instance count.
type Autoscaling struct {
	Min               int            `json:"min"`
	Max               int            `json:"max"`
	TargetUtilization units.Percent  `json:"targetUtilization,omitempty"`
	LaunchDelay       units.Duration `json:"launchDelay,omitempty"`
	Cooldown          units.Duration `json:"cooldown,omitempty"`
}

// SLO is the availability and latency a service promises its callers.
type SLO struct {
	Availability units.Percent  `json:"availability,omitempty"`
	LatencyP99   units.Duration `json:"latencyP99,omitempty"`
}

// Instance is one host or task of a service in one zone.
type Instance struct {
	Meta     `json:",inline"`
	Service  string     `json:"service"`
	Zone     string     `json:"zone"`
	Role     string     `json:"role,omitempty"`
	Capacity units.Rate `json:"capacity,omitempty"`
	State    State      `json:"state,omitempty" jsonschema:"enum=active,enum=drained,enum=down"`
}

// LoadBalancer spreads traffic over weighted targets, each a service's
// instances in a region or zone, and health-checks them.
type LoadBalancer struct {
	Meta           `json:",inline"`
	Region         string        `json:"region,omitempty"`
	Capacity       units.Rate    `json:"capacity,omitempty"`
	Algorithm      string        `json:"algorithm,omitempty" jsonschema:"enum=round-robin,enum=least-request,enum=weighted"`
	CrossZone      bool          `json:"crossZone,omitempty"`
	PanicThreshold units.Percent `json:"panicThreshold,omitempty"`
	HealthCheck    HealthCheck   `json:"healthCheck,omitempty"`
	Targets        []LBTarget    `json:"targets"`
}

// HealthCheck is how a load balancer or DNS record tests its targets.
type HealthCheck struct {
	Path               string         `json:"path,omitempty"`
	Interval           units.Duration `json:"interval,omitempty"`
	Timeout            units.Duration `json:"timeout,omitempty"`
	HealthyThreshold   int            `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int            `json:"unhealthyThreshold,omitempty"`
}

// LBTarget is a named target group: the instances of Service in Region or
// Zone (or everywhere when both are empty).
type LBTarget struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Weight  *int   `json:"weight,omitempty"`
}

// EffectiveWeight is the target's weight, defaulting to 1.
func (t LBTarget) EffectiveWeight() int {
	if t.Weight == nil {
		return 1
	}
	return *t.Weight
}

// DNSRecord is a name with a routing policy over its answers. Clients in
// each region of ServesRegions resolve it.
type DNSRecord struct {
	Meta          `json:",inline"`
	Type          string         `json:"type,omitempty" jsonschema:"enum=A,enum=AAAA,enum=CNAME"`
	TTL           units.Duration `json:"ttl"`
	Policy        string         `json:"policy,omitempty" jsonschema:"enum=simple,enum=weighted,enum=failover,enum=latency"`
	ServesRegions []string       `json:"servesRegions,omitempty"`
	HealthCheck   HealthCheck    `json:"healthCheck,omitempty"`
	Answers       []DNSAnswer    `json:"answers"`
}

// DNSAnswer is one answer of a record: a load balancer or literal values,
// with its routing attributes.
type DNSAnswer struct {
	Name          string   `json:"name"`
	Region        string   `json:"region,omitempty"`
	LoadBalancer  string   `json:"loadBalancer,omitempty"`
	Anycast       string   `json:"anycast,omitempty"`
	Values        []string `json:"values,omitempty"`
	Weight        *int     `json:"weight,omitempty"`
	Failover      string   `json:"failover,omitempty" jsonschema:"enum=primary,enum=secondary"`
	HealthChecked bool     `json:"healthChecked,omitempty"`
}

// Demand is client traffic entering at a DNS name or directly at a service,
// with its peak per origin region and a daily profile of 24 hourly factors
// (UTC) of that peak.
type Demand struct {
	Meta    `json:",inline"`
	DNS     string    `json:"dns,omitempty"`
	Service string    `json:"service,omitempty"`
	Origins []Origin  `json:"origins"`
	Profile []float64 `json:"profile,omitempty"`
	// Client is how the clients retry; without it they do not retry.
	Client *RetryPolicy `json:"client,omitempty"`
	// SLO is what the entry point promises its clients; without it the
	// entry service's SLO applies.
	SLO *SLO `json:"slo,omitempty"`
}

// Origin is the peak demand from clients in one region.
type Origin struct {
	Region string     `json:"region"`
	Peak   units.Rate `json:"peak"`
}

// PeakFactor returns the largest factor of the daily profile (1 without one).
func (d *Demand) PeakFactor() float64 {
	if len(d.Profile) == 0 {
		return 1
	}
	m := 0.0
	for _, f := range d.Profile {
		m = max(m, f)
	}
	return m
}

// ---- config artifacts and propagation ------------------------------------

// Artifact is a generated file or data set pushed to the instances of its
// consumer service, with the limits that consumer accepts.
type Artifact struct {
	Meta        `json:",inline"`
	Consumer    string         `json:"consumer"`
	Format      string         `json:"format,omitempty" jsonschema:"enum=lines,enum=csv,enum=json,enum=yaml"`
	Size        units.Size     `json:"size,omitempty"`
	Rows        int            `json:"rows,omitempty"`
	Limits      ArtifactLimits `json:"limits,omitempty"`
	Propagation string         `json:"propagation,omitempty"`
}

// ArtifactLimits are what an artifact's consumer accepts.
type ArtifactLimits struct {
	MaxSize        units.Size `json:"maxSize,omitempty"`
	MaxRows        int        `json:"maxRows,omitempty"`
	RequiredFields []string   `json:"requiredFields,omitempty"`
}

// Propagation says how changes to matching objects reach production: all at
// once ("instant") or in waves of regions with a bake time between them.
type Propagation struct {
	Meta  `json:",inline"`
	Mode  string `json:"mode" jsonschema:"enum=instant,enum=waves"`
	Waves []Wave `json:"waves,omitempty"`
}

// Wave is one step of a staged propagation.
type Wave struct {
	Name    string         `json:"name"`
	Regions []string       `json:"regions"`
	Bake    units.Duration `json:"bake,omitempty"`
}

// BlastRadiusLimit caps how much of the matching services' capacity one
// change may touch, and how many objects.
type BlastRadiusLimit struct {
	Meta              `json:",inline"`
	Services          map[string]string `json:"services,omitempty"`
	MaxShareTotal     units.Percent     `json:"maxShareTotal,omitempty"`
	MaxSharePerRegion units.Percent     `json:"maxSharePerRegion,omitempty"`
	MaxSharePerZone   units.Percent     `json:"maxSharePerZone,omitempty"`
	MaxObjects        int               `json:"maxObjects,omitempty"`
	Severity          string            `json:"severity,omitempty" jsonschema:"enum=critical,enum=warning"`
}

// ---- policies -----------------------------------------------------------------

// Policy is an invariant the twin's owners require of every change, and how
// strictly: an advisory policy warns, a soft-mandatory one blocks unless a
// named approver overrides it with a reason, a hard-mandatory one always
// blocks. A shadow policy only reports what it would have done.
//
// A policy checks exactly one of: Findings, the findings of preflight's
// analyses whose IDs match these patterns ("capacity.floor.*"); Expression,
// a CEL expression over before, after, change and findings that must hold;
// or Rule, a built-in invariant.
type Policy struct {
	Meta        `json:",inline"`
	Description string   `json:"description,omitempty"`
	Enforcement string   `json:"enforcement" jsonschema:"enum=advisory,enum=soft-mandatory,enum=hard-mandatory"`
	Shadow      bool     `json:"shadow,omitempty"`
	Findings    []string `json:"findings,omitempty"`
	Expression  string   `json:"expression,omitempty"`
	Message     string   `json:"message,omitempty"`
	Rule        string   `json:"rule,omitempty" jsonschema:"enum=primary-needs-flag,enum=staged-propagation"`
	// Reach, Isolate and AllPairs are network intents, decided for every
	// packet on the twin after the change, and under every set of up to
	// Tolerate.K failed elements when Tolerate is given.
	Reach    *ReachIntent   `json:"reach,omitempty"`
	Isolate  *IsolateIntent `json:"isolate,omitempty"`
	AllPairs bool           `json:"allPairs,omitempty"`
	Tolerate *Tolerance     `json:"tolerate,omitempty"`
}

// ReachIntent requires every packet from device From to the addresses of
// device To (or to Dst, at To) to be delivered there.
type ReachIntent struct {
	From string       `json:"from"`
	To   string       `json:"to"`
	Dst  netip.Prefix `json:"dst,omitempty"`
}

// IsolateIntent requires that no packet from device From to Dst is
// delivered anywhere or leaves the network.
type IsolateIntent struct {
	From string       `json:"from"`
	Dst  netip.Prefix `json:"dst"`
}

// Tolerance asks an intent to hold under every set of up to K failed
// elements of the kinds in Fail (link, device, site; links when empty).
type Tolerance struct {
	K    int      `json:"k"`
	Fail []string `json:"fail,omitempty"`
}
