package tools

// CheckEvents is db check's report over a list of events.
var CheckEvents = checkEvents
