//! The freedesktop notification server over the session bus (zbus), with the one check
//! notify-rust does not make: an `ActionInvoked` or `NotificationClosed` counts only when the
//! bus stamped it as sent by the current owner of `org.freedesktop.Notifications`. Any local
//! process can emit those signals; only the daemon can send them with its own unique name.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::fdo::DBusProxy;
use zbus::message::Type;
use zbus::names::BusName;
use zbus::zvariant::Value;
use zbus::{Connection, MatchRule, MessageStream, Proxy};

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const APP_NAME: &str = "Countersign";
/// How long a confirmation ("Approved · …") stays, in milliseconds.
const TRANSIENT_MS: i32 = 4_000;

/// A signal from the notification server, already checked to come from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSignal {
    Action {
        id: u32,
        key: String,
    },
    Closed {
        id: u32,
    },
    /// A signal that claimed to be the server's but was sent by someone else.
    Forged {
        sender: String,
        member: String,
    },
    /// A process took the server's name: a restarted, replaced or late server, which shows
    /// nothing of ours and reuses ids.
    Restarted,
}

#[derive(Debug, Clone)]
pub struct Server {
    connection: Connection,
}

impl Server {
    /// The session bus; fails when there is none (the app then runs without notifications).
    pub async fn connect() -> zbus::Result<Self> {
        Ok(Self {
            connection: Connection::session().await?,
        })
    }

    async fn proxy(&self) -> zbus::Result<Proxy<'static>> {
        Proxy::new(&self.connection, SERVICE, PATH, SERVICE).await
    }

    /// Shows a notification (replacing `replaces`, when not 0) and returns its id.
    /// `body` must already be escaped for servers that read markup.
    pub async fn notify(
        &self,
        replaces: u32,
        summary: &str,
        body: &str,
        actions: &[(&str, &str)],
        transient: bool,
    ) -> zbus::Result<u32> {
        let actions: Vec<&str> = actions.iter().flat_map(|(k, l)| [*k, *l]).collect();
        let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
        hints.insert("category", Value::from("im.received"));
        if transient {
            hints.insert("transient", Value::from(true));
        } else {
            // Stays until acted on or withdrawn: an approval must not time out unseen.
            hints.insert("resident", Value::from(true));
        }
        let timeout = if transient { TRANSIENT_MS } else { 0 };
        self.proxy()
            .await?
            .call(
                "Notify",
                &(
                    APP_NAME, replaces, "", summary, body, actions, hints, timeout,
                ),
            )
            .await
    }

    pub async fn close(&self, id: u32) -> zbus::Result<()> {
        self.proxy()
            .await?
            .call::<_, _, ()>("CloseNotification", &(id,))
            .await
    }

    /// Whether the server reads a subset of HTML in bodies (then `<`, `>` and `&` must be
    /// escaped); assumed when the server does not say.
    pub async fn reads_markup(&self) -> bool {
        match self.proxy().await {
            Ok(proxy) => proxy
                .call::<_, _, Vec<String>>("GetCapabilities", &())
                .await
                .map_or(true, |caps| caps.iter().any(|c| c == "body-markup")),
            Err(_) => true,
        }
    }

    /// Forwards the server's signals to `out` until the bus goes away.
    pub async fn listen(self, out: mpsc::UnboundedSender<ServerSignal>) -> zbus::Result<()> {
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .interface(SERVICE)?
            .path(PATH)?
            .build();
        let mut stream = MessageStream::for_match_rule(rule, &self.connection, None).await?;
        let bus = DBusProxy::new(&self.connection).await?;
        let mut owners = bus
            .receive_name_owner_changed_with_args(&[(0, SERVICE)])
            .await?;
        loop {
            let message = tokio::select! {
                message = stream.next() => match message {
                    Some(message) => message,
                    None => break,
                },
                change = owners.next() => {
                    let Some(change) = change else { break };
                    // A server took the name: restarted, replaced, or started after us (then
                    // nothing we raised before was ever shown).
                    let restarted = change.args().is_ok_and(|a| a.new_owner.is_some());
                    if restarted && out.send(ServerSignal::Restarted).is_err() {
                        break;
                    }
                    continue;
                }
            };
            let Ok(message) = message else { continue };
            let header = message.header();
            let member = header.member().map(|m| m.to_string()).unwrap_or_default();
            let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
            // Resolved on every signal: the daemon may have restarted under another name.
            let owner = bus
                .get_name_owner(BusName::try_from(SERVICE)?)
                .await
                .map(|o| o.to_string())
                .ok();
            let signal = if owner.as_deref() != Some(sender.as_str()) {
                ServerSignal::Forged { sender, member }
            } else {
                match member.as_str() {
                    "ActionInvoked" => match message.body().deserialize::<(u32, String)>() {
                        Ok((id, key)) => ServerSignal::Action { id, key },
                        Err(_) => continue,
                    },
                    "NotificationClosed" => match message.body().deserialize::<(u32, u32)>() {
                        Ok((id, _reason)) => ServerSignal::Closed { id },
                        Err(_) => continue,
                    },
                    _ => continue,
                }
            };
            if out.send(signal).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Text for a body that a server may read as markup: agent strings stay text.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_markup_in_a_body_stays_text() {
        assert_eq!(
            escape_markup(r#"<b>x</b> & <img src="y">"#),
            "&lt;b&gt;x&lt;/b&gt; &amp; &lt;img src=&quot;y&quot;&gt;"
        );
    }
}
