//! How `goal`'s own warnings read: `goal: warning: …`, one line like every other status line,
//! rather than a tracing record with its level and module path. Those stay for the debug traces
//! of `-vv` and `RUST_LOG`, which are for whoever debugs `goal` itself.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Warnings and errors as status lines; everything else in tracing's own format, untimed.
pub struct StatusLines {
    traces: Format<tracing_subscriber::fmt::format::Full, ()>,
}

impl Default for StatusLines {
    fn default() -> Self {
        StatusLines {
            traces: Format::default().without_time(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for StatusLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if *event.metadata().level() > Level::WARN {
            return self.traces.format_event(context, writer, event);
        }
        if writer.has_ansi_escapes() {
            write!(writer, "goal: \x1b[1;33mwarning\x1b[0m: ")?;
        } else {
            write!(writer, "goal: warning: ")?;
        }
        DefaultFields::new().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
