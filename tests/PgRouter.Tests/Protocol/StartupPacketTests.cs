using System.Buffers;
using PgRouter.Protocol;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Protocol;

public class StartupPacketTests
{
    private static StartupPacket? Read(ReadOnlySequence<byte> bytes, out PgError? error, out long consumed)
    {
        var reader = new SequenceReader<byte>(bytes);
        bool read = StartupPacket.TryRead(ref reader, out var packet, out error);
        consumed = reader.Consumed;
        return read ? packet : null;
    }

    [Fact]
    public void TryRead_StartupMessage_ReturnsParametersInOrder()
    {
        byte[] bytes = Messages.StartupMessage(("user", "app"), ("database", "shop"), ("application_name", "psql"));

        var packet = Read(new ReadOnlySequence<byte>(bytes), out PgError? error, out long consumed);

        Assert.Null(error);
        Assert.NotNull(packet);
        Assert.Equal(StartupPacketKind.Startup, packet.Kind);
        Assert.Equal(3, packet.ProtocolMajor);
        Assert.Equal(0, packet.ProtocolMinor);
        Assert.Equal(["user", "database", "application_name"], packet.Parameters.Items.Select(p => p.Key));
        Assert.Equal("shop", packet.Parameters["database"]);
        Assert.Equal(bytes.Length, consumed);
    }

    [Fact]
    public void TryRead_SplitAtEveryByte_NeedsMoreUntilCompleteThenReadsTheSame()
    {
        byte[] bytes = Messages.StartupMessage(("user", "app"), ("options", "-c pgrouter.target=replica"));
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.Null(Read(Sequences.OneSegmentPerByte(bytes[..length]), out PgError? error, out long consumed));
            Assert.Null(error);
            Assert.Equal(0, consumed);
        }

        var packet = Read(Sequences.OneSegmentPerByte(bytes), out _, out _);
        Assert.Equal("-c pgrouter.target=replica", packet!.Parameters["options"]);
    }

    [Fact]
    public void TryRead_EncryptionRequests_AreRecognised()
    {
        var ssl = Read(new ReadOnlySequence<byte>(Messages.Startup(80877103)), out _, out long consumed);
        var gss = Read(new ReadOnlySequence<byte>(Messages.Startup(80877104)), out _, out _);

        Assert.Equal(StartupPacketKind.SslRequest, ssl!.Kind);
        Assert.Equal(StartupPacketKind.GssEncRequest, gss!.Kind);
        Assert.Equal(8, consumed);
    }

    [Fact]
    public void TryRead_CancelRequest_CarriesProcessIdAndKey()
    {
        byte[] bytes = Messages.Startup(80877102, Messages.Int32(4242), Messages.Int32(-17));

        var packet = Read(new ReadOnlySequence<byte>(bytes), out _, out _);

        Assert.Equal(StartupPacketKind.CancelRequest, packet!.Kind);
        Assert.Equal(new CancelKey(4242, -17), packet.CancelKey);
    }

    [Fact]
    public void TryRead_NewerMinorVersion_IsAcceptedWithItsMinor()
    {
        byte[] bytes = Messages.Startup((3 << 16) | 2, Messages.CString("user"), Messages.CString("app"), [0]);

        var packet = Read(new ReadOnlySequence<byte>(bytes), out _, out _);

        Assert.Equal(2, packet!.ProtocolMinor);
    }

    [Theory]
    [InlineData(2 << 16, "unsupported frontend protocol 2.0")]
    [InlineData(1234, "unsupported frontend protocol 0.1234")]
    public void TryRead_OtherMajorVersion_IsRefused(int code, string message)
    {
        Assert.Null(Read(new ReadOnlySequence<byte>(Messages.Startup(code, [0])), out PgError? error, out _));
        Assert.StartsWith(message, error!.Message);
        Assert.Equal("0A000", error.SqlState);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(10_001)]
    [InlineData(int.MaxValue)]
    [InlineData(-8)]
    public void TryRead_LengthOutOfRange_IsRefusedBeforeWaitingForTheBody(int length)
    {
        Assert.Null(Read(new ReadOnlySequence<byte>(Messages.Int32(length)), out PgError? error, out _));
        Assert.Equal(new PgError("08P01", "invalid length of startup packet"), error);
    }

    [Fact]
    public void TryRead_SslRequestWithWrongLength_IsRefused()
    {
        byte[] bytes = Messages.Startup(80877103, Messages.Int32(0));

        Assert.Null(Read(new ReadOnlySequence<byte>(bytes), out PgError? error, out _));
        Assert.Equal(new PgError("08P01", "invalid length of startup packet"), error);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'u', (byte)'s', (byte)'e', (byte)'r', 0, (byte)'a', 0 })]
    [InlineData(new byte[] { (byte)'u', (byte)'s', (byte)'e', (byte)'r', 0, (byte)'a', 0, 0, 0 })]
    [InlineData(new byte[] { (byte)'u', (byte)'s', (byte)'e', (byte)'r', 0, (byte)'a' })]
    public void TryRead_ParametersWithoutFinalTerminator_AreRefused(byte[] body)
    {
        Assert.Null(Read(new ReadOnlySequence<byte>(Messages.Startup(196608, body)), out PgError? error, out _));
        Assert.Equal(new PgError("08P01", "invalid startup packet layout: expected terminator as last byte"), error);
    }
}
