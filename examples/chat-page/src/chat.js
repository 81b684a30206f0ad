// The chat page's client of the chat WebSocket API (examples/chat): join a room, send
// to it, and show what its members say. Frames: {"joined": R}, {"left": R},
// {"room": R, "from": ID, "name": N, "text": T}, {"error": ...}, and API Gateway's error
// frame {"message": ..., "connectionId": ..., "requestId": ...}.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsPath = params.get("ws") || "/ws";
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;

let socket;
let room = null;

function line(className, ...parts) {
  const li = document.createElement("li");
  if (className) li.className = className;
  for (const part of parts) {
    if (typeof part === "string") {
      li.append(part);
    } else {
      const span = document.createElement("span");
      span.className = part.cls;
      span.textContent = part.text;
      li.append(span);
    }
  }
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function status(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function connect() {
  status("connecting", "connecting to " + url + "…");
  socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    status("open", "connected");
    $("join").disabled = false;
  });
  socket.addEventListener("close", (event) => {
    status("closed", "disconnected (" + event.code + (event.reason ? ": " + event.reason : "") + ")");
    $("join").disabled = true;
    $("send").disabled = true;
    room = null;
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      line("note", String(event.data));
      return;
    }
    if (frame.joined !== undefined) {
      room = frame.joined;
      $("send").disabled = false;
      line("note", "you joined " + frame.joined);
    } else if (frame.left !== undefined) {
      line("note", "you left " + frame.left);
    } else if (frame.text !== undefined) {
      const who = frame.name || "guest-" + String(frame.from || "").slice(0, 4);
      line("message", { cls: "room", text: "#" + frame.room }, { cls: "who", text: who }, frame.text);
    } else if (frame.error !== undefined) {
      line("error", frame.error);
    } else if (frame.message !== undefined) {
      line("error", frame.message);
    }
  });
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = $("room").value.trim();
  if (!wanted || socket.readyState !== WebSocket.OPEN) return;
  if (room && room !== wanted) socket.send(JSON.stringify({ action: "leave", room }));
  socket.send(JSON.stringify({ action: "join", room: wanted }));
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text || !room || socket.readyState !== WebSocket.OPEN) return;
  const message = { action: "message", room, text };
  const name = $("name").value.trim();
  if (name) message.name = name;
  socket.send(JSON.stringify(message));
  $("text").value = "";
});

connect();
