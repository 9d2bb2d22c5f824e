import XCTest
final class EvaluationTestsPlaceholder: XCTestCase { func testNothing() {} }
