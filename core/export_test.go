package kinde

import (
	"context"
	"time"
)

// Hooks for the package's external tests (package kinde_test). They are
// compiled only into tests and are not part of the API.

// SetDeviceSleep replaces the wait between two polls of PollDeviceToken for da,
// so that tests can move an emulator's clock instead of sleeping.
func SetDeviceSleep(da *DeviceAuth, sleep func(ctx context.Context, d time.Duration) error) {
	da.sleep = sleep
}
