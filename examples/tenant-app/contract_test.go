package main

import (
	"slices"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
)

// The app repeats the contract's names instead of importing tenantfleet (an
// app image should not pull in the Pulumi SDK); this keeps the two in step.
func TestAppReadsTheWholeContract(t *testing.T) {
	t.Parallel()

	app := []string{
		envTenantID, envCloud, envStack, envWorkload, envImage,
		envDatabaseHost, envDatabasePort, envDatabaseName, envDatabaseUser, envDatabasePassword, envDatabaseSSLMode,
		envQueueURL, envDeadLetterURL, envQueuePassword, envQueueCACert, envPort,
	}
	if !slices.Equal(app, contractVariables()) {
		t.Errorf("contractVariables() = %v, want %v", contractVariables(), app)
	}
	contract := components.ContractVariables()
	for _, v := range contract {
		if !slices.Contains(app, v) {
			t.Errorf("the app does not read contract variable %s", v)
		}
	}
	for _, v := range app {
		if !components.IsContractVariable(v) {
			t.Errorf("the app reads %s, which is not in the contract", v)
		}
	}
	// APP_RELEASE must stay outside the contract: a tenant spec sets it through
	// web.env and worker.env, which may not override a contract variable.
	if components.IsContractVariable(envRelease) {
		t.Errorf("%s is a contract variable; a tenant spec could not set it", envRelease)
	}
	if roleWeb != components.WorkloadWeb || roleWorker != components.WorkloadWorker {
		t.Error("workload names differ from the contract's")
	}
}
