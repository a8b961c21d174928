// LocalStack starts DynamoDB Local with `-javaagent:<its loader jar>`, a jar it would download (it only
// lifts the limit of 20 GSIs per table). This agent does nothing, so the JVM starts without network.
public final class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation instrumentation) {}
}
