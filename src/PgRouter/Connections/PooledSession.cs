using System.Buffers;
using System.Text;
using PgRouter.Pooling;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// One client on pooled server connections. The client side (<see cref="RunAsync"/>) reads the
/// client's messages, borrows a server when a transaction starts and translates the requests for
/// it (PooledSession.Requests.cs). The server side (<see cref="OnServerDataAsync"/>, on the server
/// connection's read loop) forwards the answers, drops or rewords those PgRouter caused
/// (PooledSession.Answers.cs), and gives the server back at a transaction boundary. A lock, held
/// only while bytes are interpreted, keeps the two in step.
/// </summary>
internal sealed partial class PooledSession(
    ClientConnection client,
    PoolRoute route,
    PoolMode mode,
    PoolSelector selector,
    ParsedStatements parsed,
    SessionSettings settings,
    CancelEntry cancel,
    MemberLoad load,
    int maxMessageBytes,
    CancellationToken stopping,
    ILogger logger) : IServerSession, IActiveSession
{
    /// <summary>How a session's state is cleared before its server serves another one.</summary>
    private static readonly byte[] DiscardAll = FrontendMessages.Query("DISCARD ALL");

    /// <summary>Messages PgRouter must see whole are buffered up to this size.</summary>
    private const int InspectLimit = 8 * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly ExpectationQueue _expected = new();
    private readonly ClientStatements _statements = new();
    private readonly OutgoingBytes _toServer = new();
    private readonly OutgoingBytes _toClient = new();
    private readonly MessageWriter _reply = new();
    private readonly SemaphoreSlim _clientWrites = new(1, 1);
    private PooledServer? _server;
    private MemberView? _member;
    private FrameWalker _clientFrames;
    private FrameWalker _serverFrames;
    private TransactionStatus _status = TransactionStatus.Idle;
    private bool _batchOpen;
    private bool _unnamedOnServer;
    private bool _ending;
    private bool _sending;

    /// <summary>The latest command of the client's transaction failed or rolled back: its SETs are undone.</summary>
    private bool _lastCommandFailed;
    private string? _pinned;
    private PgError? _untold;
    private bool _skipToSync;
    private PgError? _stopReason;

    /// <summary>The server discards the client's requests up to its next Sync (an error came while PgRouter waited).</summary>
    private bool _serverSkipping;

    /// <summary>The client side waits for a statement's result shape from the server.</summary>
    private TaskCompletionSource? _shapeWait;

    public long Transactions { get; private set; }

    public long BytesFromClient { get; private set; }

    public long BytesFromServer { get; private set; }

    /// <summary>
    /// Logs the client in without a server of its own: AuthenticationOk, the server parameters of its
    /// pool with the client's own values on top, PgRouter's key, ReadyForQuery. A transaction pool
    /// whose parameters are known needs no server for it, so clients connect even while the cluster
    /// has no primary; in session mode the server that answered stays with the client. Returns the
    /// error to refuse the client with, if any.
    /// </summary>
    public async Task<PgError?> LoginAsync(StartupParameters clientParameters)
    {
        var known = mode == PoolMode.Transaction ? selector.KnownParameters(route) : null;
        if (known is null)
        {
            var (acquired, member) = await selector.AcquireAsync(client.Address, route, stopping).ConfigureAwait(false);
            if (acquired.Server is not { } server)
            {
                return acquired.Error ?? new PgError(SqlState.CannotConnectNow, $"no server available in cluster {route.Cluster}");
            }
            known = server.Parameters;
            if (mode == PoolMode.Session)
            {
                lock (_lock)
                {
                    Attach(server, member!);
                }
            }
            else
            {
                server.Pool.Return(server);
            }
        }

        var burst = new ArrayBufferWriter<byte>();
        burst.Write(BackendMessages.AuthenticationOk);
        foreach (var (name, value) in known)
        {
            var own = clientParameters.Items.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            burst.Write(BackendMessages.ParameterStatus(name, own is null ? value : Encoding.UTF8.GetString(own)));
        }
        burst.Write(BackendMessages.BackendKeyData(cancel.ClientKey));
        burst.Write(BackendMessages.ReadyForQuery(TransactionStatus.Idle));
        return await client.SendAsync(burst.WrittenMemory).ConfigureAwait(false) ? null : new PgError(SqlState.ConnectionFailure, "the client went away");
    }

    /// <summary>The client side, until the client leaves.</summary>
    public async Task<RelayEnd> RunAsync()
    {
        var input = client.Input;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled && StopReasonAtBoundary() is { } stop)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                await EndAsync(stop).ConfigureAwait(false);
                return RelayEnd.Terminated;
            }
            byte first = Inspect(buffer, out var violation);
            if (violation is not null)
            {
                input.AdvanceTo(buffer.End);
                await EndAsync(violation).ConfigureAwait(false);
                return RelayEnd.ClientProtocolViolation;
            }
            if (first == FrontendMessage.Terminate || (first == 0 && result.IsCompleted))
            {
                input.AdvanceTo(buffer.End);
                await EndAsync(null).ConfigureAwait(false);
                return first == FrontendMessage.Terminate ? RelayEnd.ClientTerminated : RelayEnd.ClientClosed;
            }
            if (first == 0)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            Turn turn;
            while (!TryTakeTurn(buffer, out turn))
            {
                await BorrowAsync().ConfigureAwait(false);
            }
            if (!turn.Reply.IsEmpty && !await ReplyAsync(turn.Reply).ConfigureAwait(false))
            {
                input.AdvanceTo(turn.Consumed);
                await EndAsync(null).ConfigureAwait(false);
                return RelayEnd.ClientClosed;
            }
            if (turn.Server is null && _stopReason is { } stopped)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                await EndAsync(stopped).ConfigureAwait(false);
                return RelayEnd.Terminated;
            }
            if ((turn.Tell is not null || turn.Ready) && !await TellClientAsync(turn.Tell, turn.Ready).ConfigureAwait(false))
            {
                input.AdvanceTo(turn.Consumed);
                await EndAsync(null).ConfigureAwait(false);
                return RelayEnd.ClientClosed;
            }
            if (turn.Server is { } server)
            {
                await SendToServerAsync(server, turn.Consumed).ConfigureAwait(false);
                Sent(server);
            }
            if (turn.ShapeWait is { } shapeWait)
            {
                // Translation stopped before a statement whose shape the server is about to tell; the rest is read again after.
                await shapeWait.ConfigureAwait(false);
                input.AdvanceTo(turn.Consumed);
                continue;
            }
            input.AdvanceTo(turn.Consumed, buffer.End);
        }
    }

    /// <summary>What the client side does with the bytes read: send them (translated) to a server, or answer them itself.</summary>
    private readonly record struct Turn(SequencePosition Consumed, PooledServer? Server, PgError? Tell = null, bool Ready = false,
        ReadOnlyMemory<byte> Reply = default, Task? ShapeWait = null);

    /// <summary>
    /// Interprets the buffer for the attached server (marking a send under way, so the server is not
    /// given back before the bytes are out), answers it without a server, or skips it when there is
    /// no server to be had. False when a server must be borrowed first.
    /// </summary>
    private bool TryTakeTurn(in ReadOnlySequence<byte> buffer, out Turn turn)
    {
        lock (_lock)
        {
            if (_skipToSync || (_server is null && _stopReason is not null))
            {
                var (consumed, tell, ready) = Skip(buffer);
                turn = new Turn(consumed, null, tell, ready);
                return true;
            }
            if (_server is null && TryAnswerLocally(buffer, out var answered))
            {
                turn = new Turn(answered, null, Reply: _reply.Written);
                return true;
            }
            if (_server is { } server)
            {
                var (consumed, shapeWait) = Translate(buffer, server);
                _sending = true;
                turn = new Turn(consumed, server, ShapeWait: shapeWait);
                return true;
            }
        }
        turn = default;
        return false;
    }

    /// <summary>The client side's bytes are out: if the server's answer already came, the server goes back now.</summary>
    private void Sent(PooledServer server)
    {
        lock (_lock)
        {
            _sending = false;
        }
        TryRelease(server);
    }

    /// <summary>
    /// Gives the server back at a transaction boundary: every answer in, no batch open, idle, nothing
    /// being sent to it, and the session either over or in transaction mode without a pin.
    /// </summary>
    private void TryRelease(PooledServer server)
    {
        PooledServer? released = null;
        bool stop;
        lock (_lock)
        {
            bool boundary = _server == server && AtBoundary();
            if (boundary && (_ending || (mode == PoolMode.Transaction && _pinned is null)))
            {
                released = Detach();
            }
            stop = boundary && _stopReason is not null && !_ending;
        }
        released?.Pool.Return(released);
        if (stop)
        {
            client.Input.CancelPendingRead();
        }
    }

    private bool AtBoundary() => !_sending && _expected.IsEmpty && !_batchOpen && _status == TransactionStatus.Idle;

    /// <summary>Why the session must end, when it is at a point where it can (no transaction open).</summary>
    private PgError? StopReasonAtBoundary()
    {
        lock (_lock)
        {
            return _stopReason is not null && (_server is null || AtBoundary()) ? _stopReason : null;
        }
    }

    /// <summary>
    /// PgRouter stops: a client between transactions is told (57P01) and let go at once, one inside a
    /// transaction when it ends or, at the latest, when the stop's grace period ends.
    /// </summary>
    public void Stop(PgError reason)
    {
        lock (_lock)
        {
            _stopReason = reason;
        }
        client.Input.CancelPendingRead();
    }

    /// <summary>The first message's type when it can be handled now; 0 when more bytes are needed.</summary>
    private byte Inspect(in ReadOnlySequence<byte> buffer, out PgError? violation)
    {
        violation = null;
        if (_clientFrames.InsideFrame)
        {
            return FrontendMessage.CopyData;
        }
        var reader = new SequenceReader<byte>(buffer);
        if (!FrameHeader.TryPeek(ref reader, out var header))
        {
            return 0;
        }
        int maxLength = FrontendMessageRules.MaxLength(header.Type, maxMessageBytes);
        if (maxLength == 0)
        {
            violation = new PgError(SqlState.ProtocolViolation, $"invalid frontend message type {header.Type}");
            return 0;
        }
        if (header.Length < 4 || header.Length > maxLength)
        {
            violation = new PgError(SqlState.ProtocolViolation, $"invalid message length {header.Length} for message type '{(char)header.Type}'");
            return 0;
        }
        if (header.Type != FrontendMessage.CopyData && header.Length > InspectLimit)
        {
            violation = new PgError(SqlState.ProgramLimitExceeded, $"a message of {header.Length} bytes is too large for a pooled session",
                Hint: "Connect to a passthrough database or listener for such messages.");
            return 0;
        }
        return header.Type == FrontendMessage.CopyData || reader.Remaining >= header.FrameSize ? header.Type : (byte)0;
    }

    /// <summary>Borrows a server for the transaction about to start; without one, the client's requests up to Sync get the error.</summary>
    private async Task BorrowAsync()
    {
        var (acquired, member) = await selector.AcquireAsync(client.Address, route, stopping).ConfigureAwait(false);
        lock (_lock)
        {
            if (acquired.Server is { } server)
            {
                Attach(server, member!);
                return;
            }
            _untold = acquired.Error ?? new PgError(SqlState.CannotConnectNow, $"no server available in cluster {route.Cluster}");
            _skipToSync = true;
        }
        LogNoServer(client.Address, route.Cluster, _untold.ToString());
    }

    /// <summary>Lends the server to this session; settings that differ are applied before the client's first request.</summary>
    private void Attach(PooledServer server, MemberView member)
    {
        _server = server;
        _member = member;
        _unnamedOnServer = false;
        _serverSkipping = false;
        _status = TransactionStatus.Idle;
        _serverFrames = default;
        server.Lend(this);
        cancel.Server = server.CancelTarget;
        load.Attach(route.Cluster, member.Name);
        Transactions++;
    }

    /// <summary>Takes the server back from this session (under the lock); the caller returns it to its pool.</summary>
    private PooledServer Detach()
    {
        var server = _server!;
        server.TakeBack();
        _server = null;
        _expected.Clear();
        _batchOpen = false;
        cancel.Server = null;
        load.Detach(route.Cluster, _member!.Name);
        WakeShapeWait();
        return server;
    }

    private async ValueTask SendToServerAsync(PooledServer server, SequencePosition consumed)
    {
        var bytes = _toServer.IsCopy ? new ReadOnlySequence<byte>(_toServer.Copy) : _toServer.Original(consumed);
        if (bytes.IsEmpty)
        {
            return;
        }
        BytesFromClient += bytes.Length;
        if (!await server.Connection.Transport.SendAsync(bytes).ConfigureAwait(false))
        {
            // Its read loop notices the end and tells this session.
            server.Connection.Transport.Abort();
        }
    }

    /// <inheritdoc/>
    public async ValueTask<(SequencePosition Consumed, bool ExaminedAll)> OnServerDataAsync(PooledServer server, ReadOnlySequence<byte> buffer)
    {
        SequencePosition consumed;
        bool readyForQuery;
        bool ending;
        lock (_lock)
        {
            if (_server != server)
            {
                // Taken back between the read and now (the client left): nothing of it is the client's.
                return (buffer.End, true);
            }
            (consumed, readyForQuery) = FromServer(buffer, server);
            ending = _ending;
        }

        if (!ending)
        {
            var bytes = _toClient.IsCopy ? new ReadOnlySequence<byte>(_toClient.Copy) : _toClient.Original(consumed);
            BytesFromServer += bytes.Length;
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                if (!bytes.IsEmpty && !await client.Transport.SendAsync(bytes).ConfigureAwait(false))
                {
                    client.Transport.Abort();
                }
            }
            finally
            {
                _clientWrites.Release();
            }
        }

        if (readyForQuery)
        {
            // Decided after sending: a client that already sent more keeps its server.
            TryRelease(server);
        }
        return (consumed, !readyForQuery);
    }

    /// <inheritdoc/>
    public async ValueTask OnServerLostAsync(PooledServer server)
    {
        PgError error;
        bool fatal, now;
        lock (_lock)
        {
            if (_server != server)
            {
                return;
            }
            bool awaitingReady = !_expected.IsEmpty;
            bool midMessage = _serverFrames.InsideFrame;
            bool inTransaction = _status != TransactionStatus.Idle || _batchOpen;
            Detach();
            error = new PgError(SqlState.ConnectionFailure, "server closed the connection unexpectedly",
                $"Member {_member?.Name} of cluster {route.Cluster} went away{(server.Connection.Transport.Error is { } e ? $" ({e})" : "")}; the transaction is lost.",
                "Run the transaction again: the next one goes to a server that is up.");
            fatal = mode == PoolMode.Session || midMessage || _pinned is not null;
            if (_ending)
            {
                return;
            }
            now = fatal || awaitingReady;
            if (!now && inTransaction)
            {
                // The client is idle inside a transaction: it hears of the loss at its next request.
                _untold = error;
                _skipToSync = true;
            }
            if (now && !fatal && _batchOpen)
            {
                // Told now; ReadyForQuery follows at the client's Sync.
                _skipToSync = true;
            }
            _status = TransactionStatus.Idle;
        }
        LogServerLost(client.Address, route.Cluster, server.Connection.Member, fatal ? "closing the client" : "the client goes on");
        if (fatal)
        {
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                await client.SendFatalAsync(error).ConfigureAwait(false);
            }
            finally
            {
                _clientWrites.Release();
            }
        }
        else if (now)
        {
            await TellClientAsync(error, ready: !_skipToSync).ConfigureAwait(false);
        }
    }

    /// <summary>PgRouter's own answer to the client's requests; only when no server writes to the client.</summary>
    private async ValueTask<bool> ReplyAsync(ReadOnlyMemory<byte> reply)
    {
        await _clientWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            return await client.SendAsync(reply).ConfigureAwait(false);
        }
        finally
        {
            _clientWrites.Release();
        }
    }

    /// <summary>An ErrorResponse and/or ReadyForQuery from PgRouter itself; only when no server writes to the client.</summary>
    private async ValueTask<bool> TellClientAsync(PgError? error, bool ready)
    {
        await _clientWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            if (error is not null && !await client.SendAsync(BackendMessages.ErrorResponse(error, fatal: false)).ConfigureAwait(false))
            {
                return false;
            }
            return !ready || await client.SendAsync(BackendMessages.ReadyForQuery(TransactionStatus.Idle)).ConfigureAwait(false);
        }
        finally
        {
            _clientWrites.Release();
        }
    }

    /// <summary>
    /// The client leaves (or is sent away): a server between transactions goes back to its pool, after
    /// DISCARD ALL when the session could have left state on it; a server inside a transaction is closed.
    /// </summary>
    private async Task EndAsync(PgError? fatal)
    {
        PooledServer? server;
        bool clean, reset;
        lock (_lock)
        {
            _ending = true;
            server = _server;
            clean = server is not null && AtBoundary() && !server.Tainted;
            reset = clean && (mode == PoolMode.Session || _pinned is not null);
            if (reset)
            {
                _expected.Add(new Expectation(Expected.Setup));
                server!.Settings = 0;
                server.Statements.Clear();
                server.StaleStatements.Clear();
                _sending = true;
            }
            else if (server is not null)
            {
                Detach();
            }
        }

        if (fatal is not null)
        {
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                await client.SendFatalAsync(fatal).ConfigureAwait(false);
            }
            finally
            {
                _clientWrites.Release();
            }
        }

        if (server is null)
        {
            return;
        }
        if (reset)
        {
            // DISCARD ALL, its answers dropped; the server goes back when its ReadyForQuery comes.
            if (!await server.Connection.Transport.SendAsync(DiscardAll).ConfigureAwait(false))
            {
                server.Connection.Transport.Abort();
            }
            Sent(server);
        }
        else if (clean)
        {
            server.Pool.Return(server);
        }
        else
        {
            await server.CloseAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(320, LogLevel.Warning, "client {Client}: no server for the transaction in cluster {Cluster}: {Error}")]
    private partial void LogNoServer(string client, string cluster, string error);

    [LoggerMessage(321, LogLevel.Information, "client {Client}: keeps its server of cluster {Cluster} for the rest of the session ({Reason})")]
    private partial void LogPinned(string client, string cluster, string reason);

    [LoggerMessage(322, LogLevel.Warning, "client {Client}: its session settings failed on a server of cluster {Cluster}: {Error}")]
    private partial void LogSetupFailed(string client, string cluster, string error);

    [LoggerMessage(323, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} went away during its transaction, {What}")]
    private partial void LogServerLost(string client, string cluster, string member, string what);
}
