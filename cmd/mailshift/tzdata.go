package main

// Free/busy expands calendars in their IANA time zones, and the image has no /usr/share/zoneinfo.
import _ "time/tzdata"
