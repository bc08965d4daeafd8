"""Dashboard entry point: page config, language, navigation; pages live in dashboard/views/.
A URL with ?wall=bank|branch|team is the office wall screen instead: no navigation, no chrome."""
import streamlit as st

from dashboard import i18n, routes
from dashboard.views import data_health, game, leaderboard, links, person, team, wall

lang = i18n.normalise(st.query_params.get("lang") or st.session_state.get(i18n.LANG_KEY))

if "wall" in st.query_params:
    # served from the root path: a sub-path makes the frontend probe URLs that 404 first
    st.set_page_config(page_title=i18n.t(lang, "wall.title"), page_icon="🏆", layout="wide",
                       initial_sidebar_state="collapsed")
    wall.render(lang)
else:
    st.set_page_config(page_title=i18n.t(lang, "app.name"), page_icon="🏆", layout="wide")
    with st.sidebar:
        codes = list(i18n.LANGUAGES)
        lang = st.selectbox(i18n.t(lang, "app.language"), codes, index=codes.index(lang),
                            format_func=i18n.LANGUAGES.get, key=i18n.LANG_KEY)
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    pages = [
        # the default page is served at the root URL (Streamlit ignores its url_path)
        st.Page(leaderboard.render, title=i18n.t(lang, "nav.leaderboard"),
                icon=":material/leaderboard:", default=True),
        st.Page(person.render, title=i18n.t(lang, "nav.person"), icon=":material/person:",
                url_path=routes.PERSON),
        st.Page(team.render, title=i18n.t(lang, "nav.team"), icon=":material/groups:",
                url_path=routes.TEAM),
        st.Page(game.render, title=i18n.t(lang, "nav.game"), icon=":material/military_tech:",
                url_path=routes.GAME),
        st.Page(data_health.render, title=i18n.t(lang, "nav.data_health"),
                icon=":material/monitor_heart:", url_path=routes.DATA_HEALTH),
    ]
    links.PAGES.update(person=pages[1], team=pages[2])
    st.navigation(pages).run()
