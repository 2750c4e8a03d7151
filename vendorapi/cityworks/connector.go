package cityworks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/arcgis"
)

// This file is the work side of a connection to Cityworks (vendorapi.WorkSystem): a ticket
// becomes a service request or a work order, per the category its request type maps to.
// Its optional capabilities live beside it: create (connector_create.go), reading a request
// back with its feedback (connector_remote.go), files (connector_files.go), the change feed and
// the import of Cityworks-originated requests (connector_feed.go), the catalog
// (connector_catalog.go) and the self-test (connector_validate.go).

// Geocoder finds the address of a point (arcgis.Client).
type Geocoder interface {
	ReverseGeocode(ctx context.Context, lng, lat float64) (arcgis.Result, error)
}

// ConnectorConfig configures a Connector.
type ConnectorConfig struct {
	// Connection is the connection id (for references and log context).
	Connection string
	// Client configures the Cityworks client. Its Location and WOReferenceField default to the
	// options' timeZone and woReferenceField.
	Client Config
	// Options is the connection's raw options block; RequestSideOptions are the keys the
	// request side reads (skipped by the strict decode).
	Options            map[string]any
	RequestSideOptions []string
	// RequestSystemURL is the request system's base URL: its host may serve the request's
	// files (with Options.AttachmentHosts).
	RequestSystemURL string
	// Mapping is the connection's status mapping (Validate checks Cityworks' vocabulary
	// against it).
	Mapping string
	// HTTPClient is the base client for the geocoder and file downloads (no redirects; the
	// downloader follows a bounded number itself). nil: a private one.
	HTTPClient *http.Client
	UserAgent  string
	// Geocoder overrides the geocoder built from Options.Geocoder (tests).
	Geocoder Geocoder
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Connector is the Cityworks work side of a connection. It is safe for concurrent use.
type Connector struct {
	client     *Client
	connection string
	opts       Options
	agencies   []Agency
	geocoder   Geocoder
	files      *fileFetcher
	mapping    string
	now        func() time.Time

	qaMu    sync.Mutex
	qaCache map[int]cachedQA

	feedMu   sync.Mutex
	lastFeed time.Time
}

// Remote id prefixes: a ticket's remote id names the kind of item it is.
const (
	srPrefix = "SR-"
	woPrefix = "WO-"
)

// NewConnector validates the options (agencies' geometries included) and builds the connector.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	opts, agencies, err := ParseOptions(cfg.Options, cfg.RequestSideOptions)
	if err != nil {
		return nil, err
	}
	cc := cfg.Client
	if cc.Location == nil && opts.TimeZone != "" {
		cc.Location, _ = time.LoadLocation(opts.TimeZone) // checked by ParseOptions
	}
	if cc.WOReferenceField == "" {
		cc.WOReferenceField = opts.WOReferenceField
	}
	if cc.UserAgent == "" {
		cc.UserAgent = cfg.UserAgent
	}
	client, err := New(cc)
	if err != nil {
		return nil, err
	}
	c := &Connector{client: client, connection: cfg.Connection, opts: opts, agencies: agencies, mapping: cfg.Mapping,
		geocoder: cfg.Geocoder, now: cfg.Now, qaCache: map[int]cachedQA{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.geocoder == nil && opts.Geocoder != nil {
		g, err := arcgis.New(arcgis.Config{ServiceURL: opts.Geocoder.URL, Token: opts.Geocoder.Token,
			Distance: opts.Geocoder.Distance, HTTPClient: cfg.HTTPClient, UserAgent: cfg.UserAgent})
		if err != nil {
			return nil, fmt.Errorf("options: geocoder: %w", err)
		}
		c.geocoder = g
	}
	hosts := append([]string{hostOf(cfg.RequestSystemURL)}, opts.AttachmentHosts...)
	c.files = newFileFetcher(cfg.HTTPClient, cfg.UserAgent, hosts)
	return c, nil
}

// Client is the underlying Cityworks client.
func (c *Connector) Client() *Client { return c.client }

// Options are the connection's parsed options.
func (c *Connector) Options() Options { return c.opts }

// Agencies are the connection's agencies with their service areas.
func (c *Connector) Agencies() []Agency { return c.agencies }

// Kind is the connection kind.
func (c *Connector) Kind() string { return Vendor }

// Reference is our idempotency key (ExternalReference).
func (c *Connector) Reference(connectionID, externalID string) string {
	return ExternalReference(connectionID, externalID)
}

// ParseReference reads our reference back (vendorapi.ReferenceParser).
func (c *Connector) ParseReference(connectionID, reference string) (string, bool) {
	return ParseReference(connectionID, reference)
}

// CatalogSchedule is the CatalogSync schedule of the connection (vendorapi.CatalogScheduler).
func (c *Connector) CatalogSchedule() string { return c.opts.CatalogSchedule }

// remoteID is a parsed ticket remote id: a service request (SR-<RequestId>) or a work order
// (WO-<WorkOrderId>).
type remoteID struct {
	sr int
	wo string
}

func (r remoteID) String() string {
	if r.wo != "" {
		return woPrefix + r.wo
	}
	return srPrefix + strconv.Itoa(r.sr)
}

func srRemote(id int) string    { return remoteID{sr: id}.String() }
func woRemote(id string) string { return remoteID{wo: id}.String() }

func parseRemoteID(op, id string) (remoteID, error) {
	if v, ok := strings.CutPrefix(id, srPrefix); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return remoteID{sr: n}, nil
		}
	}
	if v, ok := strings.CutPrefix(id, woPrefix); ok && v != "" {
		return remoteID{wo: v}, nil
	}
	return remoteID{}, invalidArgument(op, fmt.Sprintf("remote id %q is neither SR-<RequestId> nor WO-<WorkOrderId>", id))
}

// FindByReference returns the service request or work order carrying our reference.
func (c *Connector) FindByReference(ctx context.Context, reference string) (*vendorapi.RemoteRequest, error) {
	sr, err := c.client.RequestByOtherSystemID(ctx, reference)
	if err != nil {
		return nil, err
	}
	if sr != nil {
		return c.Get(ctx, srRemote(sr.RequestId))
	}
	wos, err := c.client.WorkOrdersByReference(ctx, reference)
	if err != nil {
		return nil, err
	}
	if len(wos) > 0 {
		return c.Get(ctx, woRemote(string(wos[0].WorkOrderId)))
	}
	return nil, nil
}

// Create creates the request (see CreateWithNotes).
func (c *Connector) Create(ctx context.Context, req vendorapi.NewRequest) (string, error) {
	id, _, err := c.CreateWithNotes(ctx, req)
	return id, err
}

// Cancel cancels a request on behalf of the requester. A request that is already closed or
// cancelled is returned as it is (the ticket then ends with Cityworks' final status).
func (c *Connector) Cancel(ctx context.Context, id, reason string) (*vendorapi.RemoteRequest, error) {
	const op = "cancel request"
	rid, err := parseRemoteID(op, id)
	if err != nil {
		return nil, err
	}
	if rid.wo != "" {
		wo, err := c.client.WorkOrder(ctx, rid.wo)
		if err != nil {
			return nil, err
		}
		if !wo.Closed() && !wo.Cancelled() {
			if _, err := c.client.CancelWorkOrder(ctx, rid.wo, reason); err != nil {
				return nil, err
			}
		}
		return c.Get(ctx, id)
	}
	sr, err := c.client.Request(ctx, rid.sr)
	if err != nil {
		return nil, err
	}
	if !sr.Closed() && !sr.Cancelled() {
		if _, err := c.client.CancelRequest(ctx, rid.sr, reason); err != nil {
			return nil, err
		}
	}
	return c.Get(ctx, id)
}

// isRetryable reports whether err is worth a retry of the whole step.
func isRetryable(err error) bool {
	var ve *vendorapi.Error
	if errors.As(err, &ve) {
		return ve.Retryable
	}
	return !errors.Is(err, context.Canceled)
}
