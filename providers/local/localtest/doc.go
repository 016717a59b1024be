// Package localtest prepares a machine for a test that runs the local
// adapter in-process: the images the specs name, where the adapter looks for
// them.
package localtest
