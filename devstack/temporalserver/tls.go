package temporalserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"go.temporal.io/server/common/config"
)

// TLSOptions serves the frontend over TLS, optionally requiring client certificates (mTLS), the
// way a secured production cluster does. ticketsync's tests use it to check that the worker and
// API reach such a cluster, and fail clearly when their certificates are wrong. Internal traffic
// (history, matching) stays plaintext on loopback.
type TLSOptions struct {
	CertPEM, KeyPEM []byte // the frontend's certificate, valid for Options.IP, and its key
	CAPEM           []byte // the CA that issued CertPEM; the server's own clients verify the frontend with it

	ClientCAPEM       []byte // CAs whose client certificates the frontend accepts
	RequireClientAuth bool   // refuse clients without a certificate issued by ClientCAPEM

	// What the server's own clients (system workers, namespace setup, Temporal Web) present;
	// default CertPEM/KeyPEM. Under mTLS it must be issued by ClientCAPEM for client auth.
	ClientCertPEM, ClientKeyPEM []byte
}

func (o *TLSOptions) validate() error {
	if _, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM); err != nil {
		return fmt.Errorf("temporal server: TLS server certificate and key: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(o.CAPEM) {
		return errors.New("temporal server: TLS CAPEM holds no certificate")
	}
	if o.RequireClientAuth && !x509.NewCertPool().AppendCertsFromPEM(o.ClientCAPEM) {
		return errors.New("temporal server: RequireClientAuth needs ClientCAPEM")
	}
	if len(o.ClientCertPEM) > 0 || len(o.ClientKeyPEM) > 0 {
		if _, err := tls.X509KeyPair(o.ClientCertPEM, o.ClientKeyPEM); err != nil {
			return fmt.Errorf("temporal server: TLS internal client certificate and key: %w", err)
		}
	}
	return nil
}

func (o *TLSOptions) internalClientPair() (certPEM, keyPEM []byte) {
	if len(o.ClientCertPEM) > 0 {
		return o.ClientCertPEM, o.ClientKeyPEM
	}
	return o.CertPEM, o.KeyPEM
}

// rootTLS is the server's TLS section: the frontend serves TLS; the system workers (the only
// in-process clients of the frontend) trust CAPEM, expect serverName and present the
// internal client certificate, which the server requires of them whenever TLS is on.
func (o *TLSOptions) rootTLS(serverName string) config.RootTLS {
	b64 := base64.StdEncoding.EncodeToString
	var clientCAs []string
	if len(o.ClientCAPEM) > 0 {
		clientCAs = []string{b64(o.ClientCAPEM)}
	}
	cert, key := o.internalClientPair()
	return config.RootTLS{
		Frontend: config.GroupTLS{Server: config.ServerTLS{CertData: b64(o.CertPEM), KeyData: b64(o.KeyPEM),
			ClientCAData: clientCAs, RequireClientAuth: o.RequireClientAuth}},
		SystemWorker: config.WorkerTLS{CertData: b64(cert), KeyData: b64(key),
			Client: config.ClientTLS{ServerName: serverName, RootCAData: []string{b64(o.CAPEM)}}},
	}
}

// clientConfig is what the server's setup code dials the frontend with.
func (o *TLSOptions) clientConfig(serverName string) (*tls.Config, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(o.CAPEM)
	certPEM, keyPEM := o.internalClientPair()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName, Certificates: []tls.Certificate{pair},
		MinVersion: tls.VersionTLS12}, nil
}

// uiTLS is Temporal Web's connection to the frontend.
func (o *TLSOptions) uiTLS(serverName string) uiconfig.TLS {
	b64 := base64.StdEncoding.EncodeToString
	cert, key := o.internalClientPair()
	return uiconfig.TLS{CaData: b64(o.CAPEM), CertData: b64(cert), KeyData: b64(key),
		EnableHostVerification: true, ServerName: serverName}
}
