"""The strings the browser scripts show, declared once with their English text and translated by the catalogues.

The field app (recovery/static/field/*.js), the map (recovery/static/map/*.js) and the daily report
(recovery/static/reports/report.js) read them from a
`<script type="application/json" id="strings">` block that their page renders in the request's language
(templates/_strings.html); their `t(key, params)` fills `{name}` placeholders. The field app's page is cached by
its service worker, so the strings travel with it offline. Enumerated values (kinds, statuses, attribute
choices) are not here: the pages send their labels from the vocabulary.
"""

from __future__ import annotations

from recovery.i18n import N_, translate

#: key → English message, for recovery/static/field/*.js
FIELD = {
    "app_title": N_("Field app"),
    "tab_sites": N_("My sites"),
    "tab_new": N_("Report a site"),
    "tab_outbox": N_("Outbox"),
    "online": N_("Online"),
    "offline": N_("Offline"),
    "pending": N_("{n} pending"),
    "in_conflict": N_("{n} in conflict"),
    "failed_n": N_("{n} failed"),
    "all_sent": N_("All sent"),
    "loading": N_("Loading…"),
    "load_failed": N_("Could not load, and there is no offline copy. Try again with a network."),
    "from_cache": N_("Offline copy (saved when last online)"),
    "retry": N_("Retry"),
    "filter_kind": N_("Kind"),
    "filter_status": N_("Status"),
    "all": N_("All"),
    "no_sites": N_("No sites to work on."),
    "overdue": N_("Overdue"),
    "pending_badge": N_("{n} pending"),
    "distance_m": N_("{n} m"),
    "distance_km": N_("{n} km"),
    "deadline": N_("Deadline"),
    "status": N_("Current status"),
    "history": N_("History"),
    "photos": N_("Photos"),
    "work_items": N_("Work items"),
    "no_history": N_("No records yet"),
    "flagged": N_("Waiting for a commander"),
    "pending_change": N_("Pending"),
    "update": N_("Update"),
    "new_status": N_("New status"),
    "utility": N_("{track}: {status}"),
    "restore_track": N_("{track} restored"),
    "note": N_("Note"),
    "note_ph": N_("What you found, what was done…"),
    "take_photos": N_("Take / choose photos"),
    "photos_chosen": N_("{n} photos chosen"),
    "my_position": N_("My position"),
    "locating": N_("Locating…"),
    "position_ok": N_("Located (about {n} m)"),
    "position_none": N_("No position; saved without one"),
    "save": N_("Save"),
    "saved_queued": N_("Saved; it will be sent when online."),
    "choose_status": N_("Choose a new status or enter quantities or a note."),
    "check_in": N_("Disinfection check-in today"),
    "checked_in_today": N_("Checked in today"),
    "already_checked_in": N_("This point already has today's check-in; no need to check in again."),
    "report_title": N_("Report a new site"),
    "kind": N_("Kind"),
    "name": N_("Name"),
    "name_ph": N_("e.g. collapse at Kexue Ave / Changchun Rd"),
    "address": N_("Address"),
    "where": N_("Where"),
    "where_here": N_("Where I stand"),
    "where_map": N_("Tap on the map"),
    "map_hint": N_("Tap the map to place the site."),
    "map_chosen": N_("Chosen: {lon}, {lat}"),
    "need_where": N_("Locate yourself or tap the map first."),
    "need_name": N_("Give the site a name."),
    "need_attr": N_("Choose the {attr}."),
    "submit_report": N_("Report"),
    "report_queued": N_("Report saved; it will be sent when online."),
    "outbox_title": N_("Outbox queue"),
    "outbox_empty": N_("Nothing waiting to be sent."),
    "st_queued": N_("Pending"),
    "st_sending": N_("Sending"),
    "st_sent": N_("Sent"),
    "st_flagged": N_("Stored, waiting for a commander"),
    "st_conflict": N_("Conflict"),
    "st_failed": N_("Failed"),
    "st_uploading": N_("Uploading photos {p}%"),
    "type_event": N_("Status update"),
    "type_site": N_("New site"),
    "type_check_in": N_("Check-in"),
    "conflict_explain": N_(
        "Someone changed this site while you were offline. Your change is not applied yet. Compare and choose:"
    ),
    "yours": N_("Your change"),
    "theirs": N_("On the server now"),
    "discard_mine": N_("Discard mine"),
    "submit_mine": N_("Submit mine on the current version"),
    "discard": N_("Discard"),
    "created_at": N_("Made at"),
    "sign_in_again": N_(
        "Your sign-in expired. Everything waiting is kept on this phone; sign in again to send it."
    ),
    "sign_in": N_("Sign in again"),
    "password_change_first": N_(
        "Your role was changed: choose a new password first. Everything waiting is kept on this phone and sent "
        "once it is set."
    ),
    "change_password": N_("Change password"),
    "sign_out": N_("Sign out"),
    "sign_out_pending": N_(
        "Some changes are not sent yet; after signing out you must sign in again to send them. Sign out?"
    ),
    "send_now": N_("Send now"),
    "version": N_("Version"),
    "back": N_("Back"),
    "from_to": N_("{from} → {to}"),
    "check_in_event": N_("Check-in"),
    "report_event": N_("Reported"),
    "note_event": N_("Note"),
    "points_today": N_("Today's disinfection check-ins"),
    "st_duplicate": N_("Already checked in today"),
    # issue 17: the field worker's journeys
    "check_in_short": N_("Check in"),
    "distance_none": N_("No position: the check-in is saved without a distance."),
    "distance_from_point": N_("About {n} m from the point (position ±{acc} m)"),
    "checked_in_from": N_("Checked in {d} from the point"),
    "undo": N_("Undo"),
    "check_in_in": N_("Check-in at {name} is sent in {n} s."),
    "check_in_done_name": N_("Checked in at {name}."),
    "check_in_undone": N_("Check-in undone; nothing was sent."),
    "check_in_pending": N_("Checking in…"),
    "check_in_confirm_title": N_("Check in at {name}?"),
    "photo_optional": N_("Add a photo (optional)"),
    "check_in_confirm": N_("Confirm check-in"),
    "cancel": N_("Cancel"),
    "close": N_("Close"),
    "points_left": N_("{n} of {total} to do"),
    "points_all_done": N_("All checked in today."),
    "points_done": N_("Checked in today ({n})"),
    "site_map": N_("Map of {name}"),
    "no_deadline": N_("No deadline"),
    "team_label": N_("Team"),
    "no_team": N_("Not assigned"),
    "navigate": N_("Navigate there"),
    "nav_geo": N_("Map app"),
    "nav_amap": N_("AMap"),
    "nav_baidu": N_("Baidu Maps"),
    "relapse_title": N_("Failed again?"),
    "relapse_explain": N_(
        "If this finished site has failed again, report it: a commander decides whether it is reopened; "
        "until then it stays finished."
    ),
    "relapse_note": N_("What failed again"),
    "relapse_submit": N_("Report that it failed again"),
    "relapse_need_note": N_("Say what failed again."),
    "relapse_event": N_("Reported failed again"),
    "relapse_saved": N_("Report sent for a commander to decide."),
    "saved_change": N_("Saved: {name} → {to}."),
    "photo_unlinked": N_("Not yet part of a change"),
    "photo_alt": N_("Photo of {site}: {change}, {when}"),
    "team_mine": N_("My team (default)"),
    "priority": N_("Priority"),
    "priority_1": N_("1 · most urgent"),
    "priority_2": N_("2 · normal"),
    "priority_3": N_("3 · can wait"),
    "priority_by_road": N_("Priority follows the road class: main roads first."),
    "report_sending": N_("Sending the report of {name}…"),
    "report_done": N_("Reported: {name}."),
    "open_new_site": N_("Open the new site"),
    "type_relapse": N_("Failed again"),
}

#: key → English message, for recovery/static/map/*.js (the map page and its drawing tools)
MAP = {
    "status": N_("Status"),
    "updated": N_("Last update"),
    "deadline": N_("Deadline"),
    "open": N_("Open the site"),
    "select": N_("Select for command"),
    "none": N_("none"),
    "as_of_now": N_("now"),
    "kind": N_("Kind"),
    "draw_rectangle": N_("Select with a rectangle"),
    "draw_polygon": N_("Select with a polygon (click each corner, double-click to finish)"),
    "draw_finish": N_("Finish the polygon"),
    "draw_clear": N_("Clear the selection"),
    "team": N_("Team"),
    "no_team": N_("no team"),
    "overdue": N_("overdue"),
    "cluster_title": N_("{kind}: {count} sites, {done} done, {overdue} overdue"),
    "choose_team": N_("Choose a team first."),
    "choose_site": N_("Select a site on the map first (open it and press Select for command)."),
    "preview_count": N_("{count} sites will be assigned to {team}."),
    "preview_already": N_("{count} of them are with this team already."),
    "preview_losing": N_("Teams that lose sites:"),
    "preview_losing_item": N_("{team}: {count} sites"),
    "deadline_set": N_("Deadline {day}: {count} sites get it as their new deadline, {kept} have it already."),
    "deadline_keep": N_("No deadline given: every site keeps its own deadline."),
    "deadline_clear": N_("The deadlines of {count} sites will be cleared."),
    "past_warning": N_("The deadline {day} has already passed: these sites will be overdue at once."),
    "confirm": N_("Assign {count} sites"),
    "open_order": N_("Open the order"),
}

#: key → English message, for recovery/static/apidoc/apidoc.js (the API reference page, /api/v1/docs)
APIDOC = {
    "name": N_("Name"),
    "in": N_("In"),
    "type": N_("Type"),
    "description": N_("Description"),
    "required": N_("required"),
    "body": N_("Request body (JSON)"),
    "responses": N_("Responses"),
    "array_of": N_("list of {item}"),
    "load_failed": N_("The API document could not be loaded: {error}"),
}

#: the scripts' folders under recovery/static and the messages each reads
#: key → English message, for recovery/static/reports/report.js (the daily report's copy button)
REPORTS = {
    "copy": N_("Copy the bulletin"),
    "copied": N_("Copied"),
    "copy_failed": N_("Could not copy: select the text and copy it by hand."),
}

#: key → English message, for recovery/static/workorders/workorders.js (the work-order pages)
WORKORDERS = {
    "failed": N_("The request failed ({status})."),
    "uploading": N_("Uploading {name}…"),
    "choose_file": N_("Choose a file first."),
    "sending": N_("Sending…"),
    "done": N_("Recorded."),
    "confirm_return": N_("Return this order to the unit for more work?"),
    "confirm_close": N_("Close (销号) this order?"),
    "confirm_reopen": N_("Reopen this closed order?"),
    "confirm_transfer": N_("Hand this order to another unit?"),
    "pick_first": N_("Pick at least one order first."),
    "confirm_remind_n": N_("Send a reminder (催办) for {n} orders?"),
    "bulk_done_remind": N_("{n} reminders sent."),
    "confirm_close_n": N_("Close (销号) {n} resolved orders? Each closure is on record."),
    "bulk_done_close": N_("{n} orders closed."),
    "bulk_none_fit": N_("None of the orders picked can take this step."),
    "bulk_skipped": N_("{n} picked orders cannot take this step and are left as they are."),
}

SCRIPTS = {"field": FIELD, "map": MAP, "apidoc": APIDOC, "reports": REPORTS, "workorders": WORKORDERS}


def strings(group: str) -> dict[str, str]:
    """The group's messages in the request's language, by key."""
    return {key: translate(message) for key, message in SCRIPTS[group].items()}
