"""The dashboard's page addresses, shared by the navigation (app.py) and the server (serve.py)."""
PERSON = "person"
TEAM = "team"
GAME = "game"
DATA_HEALTH = "data-health"
# every page but the start page, which is served at the root
SUB_PAGES = (PERSON, TEAM, GAME, DATA_HEALTH)
