using System.Buffers;
using System.Collections.Immutable;
using PgRouter.Protocol;
using PgRouter.Servers;

namespace PgRouter.Pooling;

/// <summary>
/// One server connection of a pool, with what PgRouter knows of its session: the parameters the
/// server reported, the prepared statements it holds, the settings applied to it. Its read loop runs
/// as long as the connection lives: while lent to a client session it hands the bytes over, while
/// idle it watches for the server going away, so a dead idle connection is dropped at once.
/// </summary>
internal sealed class PooledServer
{
    private IServerSession? _session;
    private int _closed;

    public PooledServer(ServerConnection connection, ServerPool pool, LoginResult login, long createdAt)
    {
        Connection = connection;
        Pool = pool;
        BackendKey = login.BackendKey;
        CancelTarget = login.BackendKey is { } key ? new ServerCancelTarget(connection.Cluster, connection.Member, connection.Host, connection.Port, key) : null;
        Parameters = login.Parameters.ToImmutableDictionary(p => p.Key, p => p.Value);
        CreatedAt = IdleSince = createdAt;
    }

    public ServerConnection Connection { get; }

    public ServerPool Pool { get; }

    public CancelKey? BackendKey { get; }

    /// <summary>Where a cancel for the session using this server goes.</summary>
    public ServerCancelTarget? CancelTarget { get; }

    /// <summary>What the server reported in ParameterStatus, latest values.</summary>
    public ImmutableDictionary<string, string> Parameters { get; private set; }

    /// <summary>
    /// Server-side names of the statements prepared on this connection, with their result shape
    /// (<see cref="StatementShape"/>). Touched only by the session the connection is lent to.
    /// </summary>
    public Dictionary<string, int> Statements { get; } = [];

    /// <summary>Statements on the server that must be closed before they are used again (their copy went stale, or a Close was skipped).</summary>
    public List<string> StaleStatements { get; } = [];

    /// <summary>Settings changed in a way PgRouter cannot tell: reset before anyone uses the connection again.</summary>
    public const ulong SettingsUnknown = 2;

    /// <summary>Fingerprint of the session settings applied to this connection (0: as logged in; fingerprints are odd).</summary>
    public ulong Settings { get; set; }

    /// <summary>State that DISCARD ALL cannot undo (LOAD): never lend it again.</summary>
    public bool Tainted { get; set; }

    public long CreatedAt { get; }

    public long IdleSince { get; set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public Task Reading { get; private set; } = Task.CompletedTask;

    public void Start() => Reading = ReadAsync();

    public void Lend(IServerSession session) => Volatile.Write(ref _session, session);

    public void TakeBack() => Volatile.Write(ref _session, null);

    public void RecordParameter(string name, string value) => Parameters = Parameters.SetItem(name, value);

    /// <summary>Closes the connection politely (Terminate); the read loop then ends.</summary>
    public async ValueTask CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            await Connection.Transport.SendAsync(FrontendMessages.Terminate).ConfigureAwait(false);
            Connection.Transport.Abort();
        }
    }

    private async Task ReadAsync()
    {
        var input = Connection.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (Volatile.Read(ref _session) is { } session)
                {
                    var (consumed, examinedAll) = await session.OnServerDataAsync(this, buffer).ConfigureAwait(false);
                    input.AdvanceTo(consumed, examinedAll ? buffer.End : consumed);
                    if (result.IsCompleted && (examinedAll || consumed.Equals(buffer.End)))
                    {
                        break;
                    }
                }
                else
                {
                    input.AdvanceTo(ReadWhileIdle(buffer), buffer.End);
                    if (result.IsCompleted || IsClosed)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            Interlocked.Exchange(ref _closed, 1);
            if (Interlocked.Exchange(ref _session, null) is { } session)
            {
                await session.OnServerLostAsync(this).ConfigureAwait(false);
            }
            await Connection.DisposeAsync().ConfigureAwait(false);
            Pool.Forget(this);
        }
    }

    /// <summary>
    /// An idle server speaks only to report a parameter or to say it is going away (FATAL before a
    /// shutdown); anything else means the connection can no longer be trusted.
    /// </summary>
    private SequencePosition ReadWhileIdle(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (FrameHeader.TryPeek(ref reader, out var header) && header.Length >= 4 && reader.Remaining >= header.FrameSize)
        {
            var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
            switch (header.Type)
            {
                case BackendMessage.ParameterStatus:
                    var (name, value) = BackendMessageParser.ParameterStatus(frame);
                    RecordParameter(name, value);
                    break;
                case BackendMessage.NoticeResponse:
                    break;
                default:
                    Interlocked.Exchange(ref _closed, 1);
                    Connection.Transport.Abort();
                    break;
            }
            reader.Advance(header.FrameSize);
        }
        return reader.Position;
    }
}
