using System.Net.Sockets;
using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>Turns a client's CancelRequest into one for the server its query runs on, over a new connection.</summary>
internal sealed partial class CancelForwarder(CancelRegistry registry, TimeSpan connectTimeout, ILogger<CancelForwarder> logger)
{
    public async Task ForwardAsync(CancelKey key, string from)
    {
        var entry = registry.Find(key);
        if (entry?.Server is not { } server)
        {
            LogIgnored(from, key.ProcessId, entry is null ? "no client has this key" : "the client has no server now");
            return;
        }

        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var deadline = new CancellationTokenSource(connectTimeout);
            await socket.ConnectAsync(server.Host, server.Port, deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(FrontendMessages.CancelRequest(server.Key), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            // The server answers nothing; wait for its close so the request is read before we go.
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, deadline.Token).ConfigureAwait(false);
            LogForwarded(from, entry.ClientAddress, server.Cluster, server.Member);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            LogFailed(from, entry.ClientAddress, server.Cluster, server.Member, e.Message);
        }
    }

    [LoggerMessage(200, LogLevel.Information, "cancel request from {From} for client {Client} forwarded to cluster {Cluster} member {Member}")]
    private partial void LogForwarded(string from, string client, string cluster, string member);

    [LoggerMessage(201, LogLevel.Information, "cancel request from {From} for process id {ProcessId} ignored: {Reason}")]
    private partial void LogIgnored(string from, int processId, string reason);

    [LoggerMessage(202, LogLevel.Warning, "cancel request from {From} for client {Client} could not reach cluster {Cluster} member {Member}: {Error}")]
    private partial void LogFailed(string from, string client, string cluster, string member, string error);
}
