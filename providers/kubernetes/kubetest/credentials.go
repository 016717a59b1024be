package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// credentials are the files kube-apiserver is started with, and what a
// client needs: the CA and the token.
type credentials struct {
	caPEM                   []byte
	servingCert, servingKey string // kube-apiserver's, signed by the CA
	saPrivate, saPublic     string // the service account token signing key pair
	tokens                  string // the token auth file
	token                   string // system:masters' bearer token
}

// writeCredentials generates a CA, kube-apiserver's serving certificate for
// 127.0.0.1 and localhost, a service account signing key and an admin token,
// and writes them into dir.
func writeCredentials(dir string) (credentials, error) {
	var cr credentials
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return cr, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubetest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return cr, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return cr, err
	}
	cr.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return cr, err
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return cr, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return cr, err
	}
	saPublic, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return cr, err
	}

	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return cr, err
	}
	cr.token = hex.EncodeToString(secret)

	cr.servingCert = filepath.Join(dir, "apiserver.crt")
	cr.servingKey = filepath.Join(dir, "apiserver.key")
	cr.saPrivate = filepath.Join(dir, "sa.key")
	cr.saPublic = filepath.Join(dir, "sa.pub")
	cr.tokens = filepath.Join(dir, "tokens.csv")
	servingKeyPEM, err := ecKeyPEM(servingKey)
	if err != nil {
		return cr, err
	}
	saKeyPEM, err := ecKeyPEM(saKey)
	if err != nil {
		return cr, err
	}
	files := map[string][]byte{
		filepath.Join(dir, "ca.crt"): cr.caPEM,
		cr.servingCert:               pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER}),
		cr.servingKey:                servingKeyPEM,
		cr.saPrivate:                 saKeyPEM,
		cr.saPublic:                  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPublic}),
		// token,user,uid,"group,..."
		cr.tokens: fmt.Appendf(nil, "%s,admin,admin,\"system:masters\"\n", cr.token),
	}
	for path, content := range files {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return cr, err
		}
	}
	return cr, nil
}

func ecKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}
