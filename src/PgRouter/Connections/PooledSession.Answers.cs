using System.Buffers;
using PgRouter.Pooling;
using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>The server's answers, read against what the session asked of it.</summary>
internal sealed partial class PooledSession
{
    /// <summary>
    /// Reads the server's answers against what was expected: forwarded as they are, except answers to
    /// PgRouter's own requests (dropped) and errors PgRouter rewords. Stops after ReadyForQuery, where
    /// the server may go back to its pool.
    /// </summary>
    private (SequencePosition Consumed, bool ReadyForQuery) FromServer(in ReadOnlySequence<byte> buffer, PooledServer server)
    {
        var reader = new SequenceReader<byte>(buffer);
        _toClient.Begin(buffer);
        if (!_serverFrames.SkipPending(ref reader))
        {
            _toClient.End(reader.Position);
            return (reader.Position, false);
        }
        while (FrameHeader.TryPeek(ref reader, out var header) && header.Length >= 4)
        {
            // Rows and COPY data stream through without being read whole.
            if (header.Type is BackendMessage.DataRow or BackendMessage.CopyData && _expected.Peek().Kind != Expected.Setup)
            {
                if (!_serverFrames.Pass(ref reader, header))
                {
                    break;
                }
                continue;
            }
            if (reader.Remaining < header.FrameSize)
            {
                break;
            }
            var start = reader.Position;
            var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
            reader.Advance(header.FrameSize);
            if (FromServerMessage(header.Type, frame, start, reader.Position, server))
            {
                _toClient.End(reader.Position);
                return (reader.Position, true);
            }
        }
        _toClient.End(reader.Position);
        return (reader.Position, false);
    }

    /// <summary>True after the client's ReadyForQuery.</summary>
    private bool FromServerMessage(byte type, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        var head = _expected.Peek();
        switch (type)
        {
            case BackendMessage.ReadyForQuery:
                // What is still expected before the Sync was skipped by the server after an error.
                Expectation popped;
                while ((popped = _expected.Pop()).Kind is not (Expected.Sync or Expected.Setup))
                {
                    Skipped(popped, server);
                    if (_expected.IsEmpty)
                    {
                        break;
                    }
                }
                if (popped.Kind == Expected.Setup)
                {
                    // PgRouter's own query: not the client's ReadyForQuery, unless the session is over (DISCARD ALL).
                    _toClient.Drop(start, end);
                    return _ending && _expected.IsEmpty;
                }
                _status = BackendMessageParser.ReadyForQueryStatus(frame);
                SettleSettings(server);
                return true;

            case BackendMessage.ParameterStatus:
                var (name, value) = BackendMessageParser.ParameterStatus(frame);
                server.RecordParameter(name, value);
                return false;

            case BackendMessage.ErrorResponse:
                _lastCommandFailed = true;
                OnError(head, frame, start, end, server);
                return false;

            case BackendMessage.ParseComplete:
                if (_expected.Pop().Kind == Expected.InjectedParse)
                {
                    _toClient.Drop(start, end);
                }
                return false;

            case BackendMessage.CloseComplete:
                if (_expected.Pop().Kind == Expected.InjectedClose)
                {
                    _toClient.Drop(start, end);
                }
                return false;

            case BackendMessage.BindComplete:
                _expected.Pop();
                return false;

            case BackendMessage.ParameterDescription when head.Kind == Expected.ShapeOf:
                _toClient.Drop(start, end);
                return false;

            case BackendMessage.NoData or BackendMessage.RowDescription when head.Kind == Expected.ShapeOf:
                _expected.Pop();
                _toClient.Drop(start, end);
                LearnShape(head.Statement!, type == BackendMessage.NoData ? StatementShape.NoRows : StatementShape.Of(BackendMessageParser.Body(frame)), server);
                return false;

            case BackendMessage.NoData or BackendMessage.RowDescription when head.Kind is Expected.DescribeStatement or Expected.DescribePortal:
                _expected.Pop();
                return false;

            case BackendMessage.CommandComplete when head.Kind == Expected.InjectedCommand:
                _expected.Pop();
                _toClient.Drop(start, end);
                return false;

            case BackendMessage.CommandComplete or BackendMessage.EmptyQueryResponse or BackendMessage.PortalSuspended:
                if (type == BackendMessage.CommandComplete && settings.Unsettled)
                {
                    _lastCommandFailed = BackendMessageParser.Body(frame).StartsWith("ROLLBACK\0"u8);
                }
                if (type == BackendMessage.CommandComplete && DeallocatedAll(BackendMessageParser.Body(frame)))
                {
                    server.Statements.Clear();
                    server.StaleStatements.Clear();
                    _statements.Clear();
                    _unnamedOnServer = false;
                }
                if (head.Kind == Expected.Execute)
                {
                    _expected.Pop();
                }
                else if (head.Kind == Expected.Setup)
                {
                    _toClient.Drop(start, end);
                }
                return false;

            default:
                if (head.Kind == Expected.Setup)
                {
                    _toClient.Drop(start, end);
                }
                return false;
        }
    }

    /// <summary>
    /// An error ends the server's work up to the next Sync. Most go to the client as they are; some
    /// answer requests PgRouter changed and are reworded, and one tells that a shared statement went stale.
    /// </summary>
    private void OnError(Expectation head, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        switch (head.Kind)
        {
            case Expected.Setup:
                LogSetupFailed(client.Address, route.Cluster, BackendMessageParser.ErrorResponse(frame).ToString());
                _toClient.Drop(start, end);
                break;
            case Expected.StaleBind:
                _toClient.Replace(start, end).WriteBytes(BackendMessages.ErrorResponse(ResultTypeChanged, fatal: false));
                break;
            case Expected.DuplicateParse:
                _toClient.Replace(start, end).WriteBytes(BackendMessages.ErrorResponse(new PgError(
                    SqlState.DuplicatePreparedStatement, $"prepared statement \"{head.Statement!.ClientName}\" already exists"), fatal: false));
                break;
            case Expected.Bind when head.Statement is { ServerName.Length: > 0 } statement && IsResultTypeChanged(BackendMessageParser.ErrorResponse(frame)):
                // The server's copy was parsed before a DDL: it must be closed before anyone parses it again.
                server.Statements.Remove(statement.ServerName);
                server.StaleStatements.Add(statement.ServerName);
                statement.Stale = true;
                break;
        }
        if (_shapeWait is not null && !_expected.SyncBefore(Expected.ShapeOf))
        {
            // The server now skips the shape PgRouter waits for.
            _serverSkipping = true;
            WakeShapeWait();
        }
    }

    /// <summary>An expectation the server never answered (skipped after an error): what PgRouter believed it created does not exist.</summary>
    private void Skipped(Expectation expectation, PooledServer server)
    {
        switch (expectation.Kind)
        {
            case Expected.Parse or Expected.InjectedParse when expectation.Statement is { } statement:
                if (statement.ServerName.Length == 0)
                {
                    _unnamedOnServer = false;
                }
                else
                {
                    server.Statements.Remove(statement.ServerName);
                }
                if (expectation.Kind == Expected.Parse)
                {
                    _statements.Forget(statement);
                }
                break;
            case Expected.InjectedClose:
                // The old copy is still there.
                server.StaleStatements.Add(expectation.Closed!);
                break;
        }
    }

    private void LearnShape(PreparedStatement statement, int shape, PooledServer server)
    {
        if (server.Statements.ContainsKey(statement.ServerName))
        {
            server.Statements[statement.ServerName] = shape;
        }
        if (statement.Shape == StatementShape.Unknown)
        {
            statement.Shape = shape;
        }
        parsed.Add(route.Cluster, route.Database, route.Credentials.User, server.Settings, statement.ServerName, shape);
        WakeShapeWait();
    }

    private void WakeShapeWait()
    {
        _shapeWait?.TrySetResult();
        _shapeWait = null;
    }

    private static readonly PgError ResultTypeChanged = new(SqlState.FeatureNotSupported, "cached plan must not change result type");

    private static bool IsResultTypeChanged(PgError error) => error.SqlState == ResultTypeChanged.SqlState && error.Message == ResultTypeChanged.Message;

    /// <summary>DEALLOCATE ALL and DISCARD ALL drop every prepared statement of the server session.</summary>
    /// <summary>
    /// At the end of a transaction its SETs count only if it committed: a SET that failed, or one
    /// in a transaction that rolled back, is not replayed. The server is set up again either way.
    /// </summary>
    private void SettleSettings(PooledServer server)
    {
        if (_status == TransactionStatus.Idle && settings.Unsettled)
        {
            if (settings.Settle(committed: !_lastCommandFailed))
            {
                server.Settings = PooledServer.SettingsUnknown;
            }
        }
        if (_status == TransactionStatus.Idle)
        {
            _lastCommandFailed = false;
        }
    }

    private static bool DeallocatedAll(ReadOnlySpan<byte> commandComplete) =>
        commandComplete.StartsWith("DEALLOCATE ALL\0"u8) || commandComplete.StartsWith("DISCARD ALL\0"u8);
}
