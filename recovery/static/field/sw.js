// Placeholder replaced by the field app's service worker.
