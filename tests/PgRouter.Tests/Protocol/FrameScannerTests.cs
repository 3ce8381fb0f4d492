using System.Buffers;
using PgRouter.Protocol;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Protocol;

public class FrameScannerTests
{
    private static readonly byte[] ClientStream = Messages.Concat(
        Messages.Query("select 1"),
        Messages.Frame('P', Messages.CString("s1"), Messages.CString("select $1"), Messages.Int16(0)),
        Messages.Frame('B', Messages.CString(""), Messages.CString("s1"), Messages.Int16(0), Messages.Int16(0), Messages.Int16(0)),
        Messages.Frame('E', Messages.CString(""), Messages.Int32(0)),
        Messages.Frame('S'),
        Messages.Frame('X'));

    private static readonly byte[] ServerStream = Messages.Concat(
        Messages.Frame('1'),
        Messages.Frame('T', Messages.Int16(0)),
        Messages.DataRow("hello world"),
        Messages.Frame('C', Messages.CString("SELECT 1")),
        Messages.ParameterStatus("in_hot_standby", "off"),
        Messages.ErrorResponse("25006", "cannot execute INSERT in a read-only transaction"),
        Messages.ReadyForQuery('I'));

    /// <summary>Feeds the stream in the given chunks the way a pipe would: unforwarded bytes stay and more arrive.</summary>
    private static (byte[] Forwarded, PgError? Violation, bool Terminate) RunFrontend(IEnumerable<byte[]> chunks, int maxMessageBytes = FrontendMessageRules.LargeMessageLimit)
    {
        var walker = new FrameWalker();
        var pending = new List<byte>();
        var forwarded = new List<byte>();
        foreach (byte[] chunk in chunks)
        {
            pending.AddRange(chunk);
            var buffer = Sequences.OneSegmentPerByte([.. pending]);
            var end = FrontendFrameScanner.Scan(buffer, ref walker, maxMessageBytes, out var violation, out bool terminate);
            int count = (int)buffer.Slice(0, end).Length;
            forwarded.AddRange(pending.Take(count));
            pending.RemoveRange(0, count);
            if (violation is not null || terminate)
            {
                return ([.. forwarded], violation, terminate);
            }
        }
        return ([.. forwarded], null, false);
    }

    private static IEnumerable<byte[]> SplitAt(byte[] stream, int at) => [stream[..at], stream[at..]];

    private static IEnumerable<byte[]> ByteByByte(byte[] stream) => stream.Select(b => new[] { b });

    [Fact]
    public void Frontend_SplitAtEveryByteBoundary_ForwardsEverythingThenStopsAtTerminate()
    {
        for (int at = 0; at <= ClientStream.Length; at++)
        {
            var (forwarded, violation, terminate) = RunFrontend(SplitAt(ClientStream, at));
            Assert.Null(violation);
            Assert.True(terminate, $"split at {at}");
            Assert.Equal(ClientStream, forwarded);
        }
    }

    [Fact]
    public void Frontend_OneByteAtATime_ForwardsBodiesBeforeTheyAreComplete()
    {
        var (forwarded, violation, terminate) = RunFrontend(ByteByByte(ClientStream));

        Assert.Null(violation);
        Assert.True(terminate);
        Assert.Equal(ClientStream, forwarded);
    }

    [Fact]
    public void Frontend_UnknownType_IsAViolationAndNothingOfItIsForwarded()
    {
        byte[] stream = Messages.Concat(Messages.Query("select 1"), Messages.Frame('G', Messages.Int32(1)));

        var (forwarded, violation, _) = RunFrontend([stream]);

        Assert.Equal("08P01", violation!.SqlState);
        Assert.Equal("invalid frontend message type 71", violation.Message);
        Assert.Equal(Messages.Query("select 1"), forwarded);
    }

    [Theory]
    [InlineData('S', 10_001)]
    [InlineData('X', 10_001)]
    [InlineData('p', 65_536)]
    [InlineData('Q', 3)]
    [InlineData('Q', int.MinValue)]
    public void Frontend_LengthOutsideTheLimitForItsType_IsAViolation(char type, int length)
    {
        byte[] header = [(byte)type, .. Messages.Int32(length)];

        var (forwarded, violation, _) = RunFrontend([header]);

        Assert.Equal("08P01", violation!.SqlState);
        Assert.Empty(forwarded);
    }

    [Fact]
    public void Frontend_LargeQueryUnderTheConfiguredLimit_PassesAndOverItIsRefused()
    {
        byte[] query = Messages.Query(new string('x', 20_000));

        Assert.Null(RunFrontend([query], maxMessageBytes: 30_000).Violation);
        Assert.Equal("08P01", RunFrontend([query], maxMessageBytes: 15_000).Violation!.SqlState);
    }

    private sealed class Recorder(byte stopAfter = 0) : IBackendMessageObserver
    {
        public List<byte[]> Seen { get; } = [];

        public bool OnMessage(byte type, in ReadOnlySequence<byte> frame)
        {
            Seen.Add(frame.ToArray());
            return type != stopAfter;
        }
    }

    private static (byte[] Forwarded, List<byte[]> Seen) RunBackend(IEnumerable<byte[]> chunks, Recorder recorder)
    {
        var walker = new FrameWalker();
        var pending = new List<byte>();
        var forwarded = new List<byte>();
        foreach (byte[] chunk in chunks)
        {
            pending.AddRange(chunk);
            var buffer = Sequences.OneSegmentPerByte([.. pending]);
            var end = BackendFrameScanner.Scan(buffer, ref walker, recorder, out bool malformed);
            Assert.False(malformed);
            int count = (int)buffer.Slice(0, end).Length;
            forwarded.AddRange(pending.Take(count));
            pending.RemoveRange(0, count);
        }
        return ([.. forwarded], recorder.Seen);
    }

    [Fact]
    public void Backend_SplitAtEveryByteBoundary_SeesEachWatchedFrameOnceAndWhole()
    {
        byte[][] watched =
        [
            Messages.ParameterStatus("in_hot_standby", "off"),
            Messages.ErrorResponse("25006", "cannot execute INSERT in a read-only transaction"),
            Messages.ReadyForQuery('I'),
        ];
        for (int at = 0; at <= ServerStream.Length; at++)
        {
            var (forwarded, seen) = RunBackend(SplitAt(ServerStream, at), new Recorder());
            Assert.Equal(ServerStream, forwarded);
            Assert.Equal(watched, seen);
        }

        var (bytewise, seenBytewise) = RunBackend(ByteByByte(ServerStream), new Recorder());
        Assert.Equal(ServerStream, bytewise);
        Assert.Equal(watched, seenBytewise);
    }

    [Fact]
    public void Backend_ObserverStops_NothingAfterThatFrameIsForwarded()
    {
        byte[] stream = Messages.Concat(Messages.ReadyForQuery('I'), Messages.DataRow("not yet"));

        var (forwarded, _) = RunBackend([stream], new Recorder(stopAfter: (byte)'Z'));

        Assert.Equal(Messages.ReadyForQuery('I'), forwarded);
    }

    [Fact]
    public void Backend_LengthBelowFour_IsMalformed()
    {
        var walker = new FrameWalker();
        var end = BackendFrameScanner.Scan(new ReadOnlySequence<byte>([(byte)'D', 0, 0, 0, 3]), ref walker, new Recorder(), out bool malformed);

        Assert.True(malformed);
        Assert.Equal(0, end.GetInteger());
    }
}
