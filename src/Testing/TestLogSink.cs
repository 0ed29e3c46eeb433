using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace OrleansWs.Testing;

/// <summary>
/// Every log line of the test app's silos and gateways, so a test can fail on an unexpected error
/// and wait on an expected event instead of sleeping.
/// </summary>
public sealed class TestLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private long _sequence;
    private readonly ConcurrentQueue<(long Sequence, DateTime Time)> _faults = new();

    /// <summary>How long after a silo kill the Errors Orleans logs about the dead silo are expected. 30 s.</summary>
    public static readonly TimeSpan InjectedFaultWindow = TimeSpan.FromSeconds(30);

    /// <summary>The entries so far, oldest first.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>A mark to pass to <see cref="ErrorsSince"/>.</summary>
    public long Mark() => Interlocked.Read(ref _sequence);

    /// <summary>
    /// Errors and critical entries logged after <paramref name="mark"/>, except those whose EventName is allowed and
    /// those that <see cref="IsInjectedFaultError"/> says a silo kill of the kit explains, logged within
    /// <see cref="InjectedFaultWindow"/> after it.
    /// </summary>
    public IReadOnlyList<LogEntry> ErrorsSince(long mark, params string[] allowedEventNames) =>
        _entries.Where(e => e.Sequence > mark && e.Level >= LogLevel.Error && !allowedEventNames.Contains(e.EventName)
            && !(IsInjectedFaultError(e) && _faults.Any(f => f.Sequence < e.Sequence && e.Time - f.Time <= InjectedFaultWindow))).ToArray();

    /// <summary>
    /// Whether an entry is one of the Errors that Orleans itself logs when a silo dies: a category of Orleans'
    /// (<c>Orleans.*</c>), caused by an <see cref="OrleansMessageRejectionException"/> (a
    /// <see cref="SiloUnavailableException"/>, or "Silo stopping" from the dying silo: e.g. <c>Orleans.Messaging</c>
    /// SelectTargetFailed or a stream provider's LogErrorRetrying) or a
    /// <see cref="Orleans.Runtime.Messaging.ConnectionFailedException"/>, or an <see cref="ObjectDisposedException"/> in
    /// <c>Orleans.Runtime.Messaging.*</c> (a connection torn down with the silo), or a cancellation in
    /// or about <c>Orleans.Runtime.ReminderService.*</c> (the killed silo's reminder service cut short). <see cref="ErrorsSince"/> leaves these
    /// out within <see cref="InjectedFaultWindow"/> after <see cref="WebSocketTestApp.KillSiloAsync"/>, and only then;
    /// OrleansWs' own errors are never left out.
    /// </summary>
    public static bool IsInjectedFaultError(LogEntry entry)
    {
        if (!entry.Category.StartsWith("Orleans.", StringComparison.Ordinal))
        {
            return false;
        }

        for (var cause = entry.Exception; cause is not null; cause = cause.InnerException)
        {
            if (cause is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException
                || (cause is ObjectDisposedException && entry.Category.StartsWith("Orleans.Runtime.Messaging.", StringComparison.Ordinal))
                || (cause is OperationCanceledException && (entry.Category.StartsWith("Orleans.Runtime.ReminderService.", StringComparison.Ordinal)
                    || entry.Message.Contains("ReminderService", StringComparison.Ordinal))))
            {
                return true;
            }
        }

        return false;
    }

    // From now on, for a while, the Errors a dead silo explains are expected.
    internal void FaultInjected() => _faults.Enqueue((Mark(), DateTime.UtcNow));

    /// <summary>Throws when an error was logged after <paramref name="mark"/> whose EventName is not allowed (see <see cref="ErrorsSince"/>).</summary>
    public void AssertNoErrorsSince(long mark, params string[] allowedEventNames)
    {
        var errors = ErrorsSince(mark, allowedEventNames);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Unexpected error logs:\n" + string.Join("\n", errors));
        }
    }

    /// <summary>
    /// The errors logged so far whose message names <paramref name="subject"/> (e.g. a peer id), one per line with its
    /// exception's message and those of its inner exceptions (where the cause usually is).
    /// </summary>
    public string DescribeErrorsAbout(string subject) => string.Join("\n", _entries
        .Where(e => e.Level >= LogLevel.Error && e.Message.Contains(subject, StringComparison.Ordinal))
        .Select(e => $"[{e.Level}] {e.EventName}: {e.Message}{Causes(e.Exception)}"));

    private static string Causes(Exception? exception)
    {
        var causes = new List<string>();
        for (var cause = exception; cause is not null; cause = cause.InnerException)
        {
            causes.Add($"{cause.GetType().Name}: {cause.Message}");
        }

        return causes.Count == 0 ? "" : $" ({string.Join(" <- ", causes)})";
    }

    ILogger ILoggerProvider.CreateLogger(string categoryName) => new Logger(this, categoryName);

    void IDisposable.Dispose()
    {
    }

    /// <summary>One log line.</summary>
    public sealed record LogEntry(long Sequence, LogLevel Level, string Category, string? EventName, string Message, Exception? Exception)
    {
        /// <summary>When it was logged (UTC).</summary>
        public DateTime Time { get; init; } = DateTime.UtcNow;

        /// <inheritdoc />
        public override string ToString() => $"[{Level}] {Category} {EventName}: {Message}{(Exception is null ? "" : "\n" + Exception)}";
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information
            || category.StartsWith("OrleansWs", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var sequence = Interlocked.Increment(ref sink._sequence);
            sink._entries.Enqueue(new LogEntry(sequence, logLevel, category, eventId.Name, formatter(state, exception), exception));
        }
    }
}
