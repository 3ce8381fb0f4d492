using PgRouter.Protocol;

namespace PgRouter.Connections;

internal enum ClientStartupOutcome
{
    /// <summary>A StartupMessage: route and log in.</summary>
    Startup,

    /// <summary>A CancelRequest: forward it and close.</summary>
    Cancel,

    /// <summary>The client went away or was refused (an error was sent where the protocol allows).</summary>
    Closed,
}

/// <summary>What the first packets of a client connection amounted to.</summary>
internal sealed record ClientStartup(ClientStartupOutcome Outcome, StartupPacket? Packet)
{
    public static readonly ClientStartup Closed = new(ClientStartupOutcome.Closed, null);
}
