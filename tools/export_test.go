package tools

// CheckEvents is db check's report over a list of events.
var CheckEvents = checkEvents

// PackWhenQuiet is the server's deferred packing.
var PackWhenQuiet = packWhenQuiet
