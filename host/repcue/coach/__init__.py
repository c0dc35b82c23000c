"""`repcue coach`: the coach's web page of a group's athletes, read from MQTT.

board.py  the tiles (one per athlete's device) and the finished sessions, from MQTT messages
feed.py   the aiomqtt subscriber that fills the board, and the group start it publishes
app.py    the Starlette app: the page, its JSON API and the Server-Sent Events stream
server.py the dashboard as one coroutine (feed + uvicorn) on a bound socket
hub.py    the private broker when the coach's laptop is the hub: Mosquitto, else
embedded.py  amqtt inside the process (the [hub] extra); acl.py the topic ACL both apply
static/   the page itself (plain HTML/CSS/JS: there is no internet at a track)
"""
