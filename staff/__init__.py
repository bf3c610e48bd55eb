"""The staff and admin web side: the window staff's console, its API and the admin pages
(analytics, audit, knowledge upkeep, content review), an aiohttp application the gateway
mounts under /staff (staff/app.py)."""
